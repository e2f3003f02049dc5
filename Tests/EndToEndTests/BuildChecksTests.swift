import Foundation
import XCTest

/// What `bundle-append build` warns about and refuses before a packager ships a bundle that
/// looks right and is not (issue 28, part 4): a layer no entry uses, a bare program name that a
/// layer also holds, the glibc the layers need (`--min-glibc`), errors that name the spec file,
/// a recorded codec choice used without its option, and times that measure what they say.
final class BuildChecksTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        try Harness.write("#!/bin/sh\necho black ran\n", to: dir + "/app/black/black", mode: 0o755)
        try Harness.write("some data\n", to: dir + "/data/d.txt")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func writeSpec(exec: String, entryLayers: String = "", layers: [String] = ["app", "data"]) throws {
        try Harness.write(
            """
            [bundle]
            name = "hello"
            version = "1.0"
            \(layers.map { "[layers.\($0)]\npath = \"\($0)\"\n" }.joined())
            [entries.black]
            exec = \(exec)
            \(entryLayers.isEmpty ? "" : "layers = \(entryLayers)")
            """, to: dir + "/hello.toml")
    }

    func build(_ out: String = "out", _ extra: [String] = [], env: [String: String] = [:]) throws -> Harness.Output {
        try Harness.run(
            Harness.tool,
            ["build", dir + "/hello.toml", "-o", dir + "/" + out, "--unsigned", "--stub", Harness.stub] + extra,
            env: ["SOURCE_DATE_EPOCH": "1700000000"].merging(env) { $1 })
    }

    /// A home of the test's own, so the bundles' cache is removed with `dir`.
    func home() throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: dir + "/home", withIntermediateDirectories: true)
        return ["HOME": dir + "/home", "XDG_CACHE_HOME": dir + "/home/.cache"]
    }

    func warnings(_ o: Harness.Output) -> [String] {
        o.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("bundle-append: warning: ") }
    }

    func testALayerNoEntryUsesIsAWarning() throws {
        try writeSpec(exec: #"["{app}/black/black"]"#)
        let o = try build()
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(
            warnings(o),
            [
                #"bundle-append: warning: hello.toml: layers.data: no entry uses this layer, so it is never extracted: add it to an entry's layers (layers = ["data"]) or use {data} in an entry, or remove it"#
            ])
        // Named in `layers`, it is used; so is the metadata layer, which no entry needs.
        try writeSpec(exec: #"["{app}/black/black"]"#, entryLayers: #"["data"]"#)
        XCTAssertEqual(warnings(try build()), [])
        try FileManager.default.moveItem(atPath: dir + "/data", toPath: dir + "/bundle-metadata")
        try writeSpec(exec: #"["{app}/black/black"]"#, layers: ["app", "bundle-metadata"])
        // A spec may name a layer so only without the generated SBOM, which takes the name.
        let metadata = try build("out", ["--no-sbom"])
        XCTAssertEqual(metadata.status, 0, metadata.stderr)
        XCTAssertEqual(warnings(metadata), [])
    }

    func testABareNameThatALayerHoldsIsRefusedWithTheLayerPath() throws {
        try writeSpec(exec: #"["black"]"#, entryLayers: #"["data"]"#)
        let o = try build()
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(
            o.stderr.contains(
                #"hello.toml: entries.black.exec[0]: 'black' is a bare name looked up in PATH at run time, but layer 'app' holds black (at black/black): write "{app}/black/black" to run it, or an absolute path to run the system's"#
            ), o.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), "nothing written")
        // The hint builds, and the bundle runs the layer's program.
        try writeSpec(exec: #"["{app}/black/black"]"#, entryLayers: #"["data"]"#)
        XCTAssertEqual(try build("out", ["-q"]).status, 0)
        let run = try Harness.run(dir + "/out", [], env: try home())
        XCTAssertEqual(run.stdout, "black ran\n", run.stderr)
        // A bare name no layer holds is the system's program, as before.
        try writeSpec(exec: #"["env"]"#, entryLayers: #"["app", "data"]"#)
        XCTAssertEqual(try build().status, 0)
    }

    /// Two programs compiled here: one linked against this system's glibc (which needs the
    /// GLIBC_x.y of `__libc_start_main`, 2.34 on glibc 2.34 and later), one static (needs none).
    func testTheGlibcFloorIsReportedAndMinGlibcRefusesANewerOne() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else { throw XCTSkip("no gcc") }
        try Harness.write("#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n", to: dir + "/h.c")
        for (out, flags) in [("app/hello", [String]()), ("data/hello-static", ["-static"])] {
            let cc = try Harness.run("/usr/bin/gcc", flags + ["-O1", "-o", dir + "/" + out, dir + "/h.c"])
            XCTAssertEqual(cc.status, 0, cc.stderr)
        }
        // The newest glibc version the dynamic one needs, read here with readelf.
        let versions = try Harness.run("/usr/bin/readelf", ["-V", "-W", dir + "/app/hello"]).stdout
        let glibc = versions.split(separator: " ").filter { $0.hasPrefix("GLIBC_2.") }.map {
            String($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let newest = try XCTUnwrap(
            glibc.max {
                $0.dropFirst(6).split(separator: ".").compactMap { Int($0) }
                    .lexicographicallyPrecedes($1.dropFirst(6).split(separator: ".").compactMap { Int($0) })
            }, versions)
        let floor = String(newest.dropFirst(6))
        try writeSpec(exec: #"["{app}/hello"]"#, entryLayers: #"["data"]"#)
        let o = try build()
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(
            o.stdout.contains("glibc floor: \(floor) (newest symbol \(newest) needed by app/hello)\n"), o.stdout)

        // A layer carrying a glibc of its own (this system's libc.so.6) is named in the report.
        let libc = "/lib/x86_64-linux-gnu/libc.so.6"
        if FileManager.default.fileExists(atPath: libc) {
            try FileManager.default.createDirectory(atPath: dir + "/app/lib", withIntermediateDirectories: true)
            try Harness.writeBytes(try Harness.bytes(libc), to: dir + "/app/lib/libc.so.6")
            let carried = try build("carried")
            XCTAssertTrue(carried.stdout.contains("; the layers carry a glibc (app/lib/libc.so.6): "), carried.stdout)
            try FileManager.default.removeItem(atPath: dir + "/app/lib")
        }

        let refused = try build("refused", ["--min-glibc", "2.17"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(
            refused.stderr.contains("app/hello needs \(newest), newer than --min-glibc 2.17: "), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused"))
        XCTAssertEqual(try build("allowed", ["--min-glibc", floor, "-q"]).status, 0)

        // The static program alone needs no glibc.
        try FileManager.default.removeItem(atPath: dir + "/app/hello")
        try writeSpec(exec: #"["{data}/hello-static"]"#, entryLayers: #"["app"]"#)
        let alone = try build("static", ["--min-glibc", "2.17"])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertTrue(
            alone.stdout.contains("glibc floor: none (no glibc symbols needed by the layers' 1 ELF file)"),
            alone.stdout)
        XCTAssertEqual(try Harness.run(dir + "/static", [], env: try home()).stdout, "hi\n")
        // A damaged ELF file (a program cut short) is a warning naming it and why; the build goes on.
        try Harness.writeBytes(
            Array(try Harness.bytes(dir + "/data/hello-static").prefix(100)), to: dir + "/data/cut.so")
        let damaged = try build("damaged", ["-q"])
        XCTAssertEqual(damaged.status, 0, damaged.stderr)
        let warning = try XCTUnwrap(warnings(damaged).first, damaged.stderr)
        XCTAssertTrue(
            warning.hasPrefix(
                "bundle-append: warning: glibc floor: cannot read ELF file data/cut.so: the section header table (offset "
            ) && warning.hasSuffix("is past the end of the file; it counts as needing no glibc"), warning)
        XCTAssertEqual(warnings(damaged).count, 1, damaged.stderr)
        let windows = try build("w", ["--min-glibc", "2.17", "--target", "windows-x64"])
        XCTAssertNotEqual(windows.status, 0)
        XCTAssertTrue(windows.stderr.contains("--min-glibc is for linux targets"), windows.stderr)
    }

    /// Errors found after the spec is parsed start with its file name, as the parser's do.
    func testSpecErrorsAfterParsingStartWithTheSpecFile() throws {
        try writeSpec(exec: #"["{app}/missing"]"#, entryLayers: #"["data"]"#)
        var o = try build()
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(
            o.stderr.contains("hello.toml: entries.black.exec[0]: '{app}/missing' is not in layer 'app'"), o.stderr)
        try writeSpec(exec: #"["{app}/black/black"]"#, entryLayers: #"["data"]"#)
        o = try build("app/out")
        XCTAssertTrue(
            o.stderr.contains("hello.toml: layers.app.path: -o \(dir)/app/out is inside layer 'app'"), o.stderr)
        o = try build("hello.toml")
        XCTAssertTrue(o.stderr.contains("hello.toml: -o \(dir)/hello.toml is the spec file itself"), o.stderr)
    }

    /// `--choose-compression hello.compression.toml` measures once; a plain build then uses the
    /// record (same bytes, one line saying so), `--compression` overrides it, and a record that
    /// lacks a layer is warned about and not used. The choosing build's time covers the measuring.
    func testARecordBesideTheSpecIsUsedWithoutTheOption() throws {
        try writeSpec(exec: #"["{app}/black/black"]"#, entryLayers: #"["data"]"#)
        let record = dir + "/hello.compression.toml"
        let chosen = try build("c1", ["--choose-compression", record])
        XCTAssertEqual(chosen.status, 0, chosen.stderr)
        // "in T s (M s of it choosing codecs)": the whole build's time, and the measuring within it.
        let line = try XCTUnwrap(chosen.stdout.split(separator: "\n").first { $0.hasPrefix("built ") }, chosen.stdout)
        let numbers = line.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: ["("])) }
        XCTAssertTrue(line.hasSuffix(" s of it choosing codecs)"), String(line))
        let (total, measuring) = (try XCTUnwrap(numbers.dropLast().last), try XCTUnwrap(numbers.last))
        XCTAssertGreaterThanOrEqual(total, measuring, String(line))

        let plain = try build("c2")
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(
            plain.stderr.contains("compression: per-layer codecs recorded in \(record) (--compression overrides it"),
            plain.stderr)
        XCTAssertFalse(plain.stdout.contains("choosing codecs"), plain.stdout)
        XCTAssertTrue(try Harness.bytes(dir + "/c1") == Harness.bytes(dir + "/c2"), "the record gave other bytes")

        let overridden = try build("c3", ["--compression", "zlib", "--level", "1"])
        XCTAssertEqual(overridden.status, 0, overridden.stderr)
        XCTAssertFalse(overridden.stderr.contains("recorded in"), overridden.stderr)
        XCTAssertEqual(try codecs("c3"), ["zlib", "zlib"])

        // Any record there is used as it says (zlib here, which the measuring never picks)...
        try Harness.write("app = \"zlib:6:8388608\"\ndata = \"zlib:6:8388608\"\n", to: record)
        XCTAssertEqual(try build("c4", ["-q"]).status, 0)
        XCTAssertEqual(try codecs("c4"), ["zlib", "zlib"])
        // ...unless it lacks a layer (one added since it was measured): a warning, the spec's codecs.
        try Harness.write("app = \"zlib:6:8388608\"\n", to: record)
        let stale = try build("c5")
        XCTAssertEqual(stale.status, 0, stale.stderr)
        XCTAssertEqual(
            warnings(stale),
            [
                "bundle-append: warning: \(record) names no codec for some layer: built with the spec's compression; pass --choose-compression \(record) to measure again"
            ])
        XCTAssertEqual(try codecs("c5"), ["zstd", "zstd"])
    }

    /// Each spec layer's codec, as `inspect --json` reads it from the bundle (the generated SBOM's
    /// layer, always zstd and never in a record, left out).
    func codecs(_ bundle: String) throws -> [String] {
        let json = try Harness.tool(["inspect", dir + "/" + bundle, "--json"]).stdout
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let layers = try XCTUnwrap(object["layers"] as? [[String: Any]])
        return layers.filter { $0["name"] as? String != "bundle-metadata" }.compactMap { $0["codec"] as? String }
    }
}
