import Foundation
import XCTest
import BundleFormat
import TestSupport

/// `<app> --launcher cache ...` and `extract`, run against real caches and a live process.
final class OpsTests: XCTestCase {
    var dir = ""
    var binary = ""
    var cache = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        cache = dir + "/cache"
        binary = try Harness.makeBundle(
            spec: """
                [bundle]
                name = "ops"
                version = "3.0"
                [layers.a]
                path = "a"
                [layers.b]
                path = "b"
                [entries.ops]
                exec = ["/bin/sh", "{a}/run.sh"]
                default = true
                [entries.hold]
                exec = ["/bin/sh", "{b}/hold.sh"]
                """,
            tree: [
                "a/run.sh": .script("#!/bin/sh\necho run\n"),
                "a/data.txt": .text("data a\n"),
                "b/hold.sh": .script("#!/bin/sh\necho holding; exec sleep 60\n"),
            ], in: dir, key: "k", output: "ops")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    @discardableResult
    func ops(_ args: [String], env: [String: String] = [:]) throws -> Harness.Output {
        var e = ["OPS_LAUNCHER_CACHE_DIR": cache]
        for (k, v) in env { e[k] = v }
        return try Harness.run(binary, ["--launcher"] + args, env: e)
    }

    func layerDirs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers")) ?? []).sorted()
    }

    /// Starts the `hold` entry (which sleeps) and waits until it runs.
    func startHolder() throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.environment = ["OPS_LAUNCHER_CACHE_DIR": cache, "OPS_LAUNCHER_ENTRY": "hold", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        _ = out.fileHandleForReading.availableData  // "holding": the runtime is up, holding its lock
        return p
    }

    /// `verify-file` never blocks on a FIFO given as the file or its signature (a self-update
    /// would stall): refused at once, one line, status 125.
    func testVerifyFileRefusesAFIFOWithoutBlocking() throws {
        let fifo = dir + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for args in [["verify-file", binary, "--signature", fifo], ["verify-file", fifo, "--signature", fifo]] {
            let o = try ops(args)
            XCTAssertEqual(o.status, 125, "\(args): \(o.stderr)")
            XCTAssertTrue(o.stderr.contains("not a regular file"), o.stderr)
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        }
    }

    func testListShowsBundlesLayersAndUse() throws {
        XCTAssertEqual(try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        let o = try ops(["cache", "list", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        let bundles = json?["bundles"] as? [[String: Any]]
        XCTAssertEqual(bundles?.count, 1)
        XCTAssertEqual(bundles?.first?["version"] as? String, "3.0")
        XCTAssertEqual(bundles?.first?["binary"] as? String, binary)
        let layers = json?["layers"] as? [[String: Any]]
        XCTAssertEqual(layers?.count, 1, "only the entry's layer was extracted")
        XCTAssertGreaterThan(layers?.first?["size"] as? Int ?? 0, 0)
        let text = try ops(["cache", "list"]).stdout
        XCTAssertTrue(text.contains("ops") && text.contains("3.0") && text.contains("total:"), text)
        XCTAssertEqual(try ops(["cache", "path"]).stdout, cache + "\n")
    }

    /// A binary whose file name holds ESC and a newline followed by `app=`: its bundle record
    /// stays one record of the real app (the name cannot add lines to it), and `cache list`
    /// prints no control byte (it used to send the ESC to the terminal).
    func testBinaryNameWithControlCharactersNeitherForgesRecordLinesNorReachesTheTerminal() throws {
        let odd = dir + "/ops\u{1b}[31m\napp=forged"
        XCTAssertEqual(link(binary, odd), 0)
        XCTAssertEqual(try Harness.run(odd, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        let text = try ops(["cache", "list"]).stdout
        XCTAssertFalse(text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, text)
        XCTAssertFalse(text.contains("forged  "), text)
        let json =
            try JSONSerialization.jsonObject(with: Data(try ops(["cache", "list", "--json"]).stdout.utf8))
            as? [String: Any]
        let bundles = json?["bundles"] as? [[String: Any]]
        XCTAssertEqual(bundles?.first?["app"] as? String, "ops", "a file name added a line to the bundle record")
        XCTAssertFalse((bundles?.first?["binary"] as? String ?? "\n").contains("\n"))
    }

    /// Fills the cache with one launch, then runs `body` with a read-only bind mount of it
    /// (even root cannot write there), unmounted afterwards.
    func withReadOnlyCache(_ body: (String) throws -> Void) throws {
        XCTAssertEqual(try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        let ro = dir + "/ro"
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        guard try Harness.run("/bin/mount", ["--bind", cache, ro]).status == 0 else {
            throw XCTSkip("cannot bind-mount here; run as root")
        }
        defer { _ = try? Harness.run("/bin/umount", ["-l", ro]) }
        XCTAssertEqual(try Harness.run("/bin/mount", ["-o", "remount,bind,ro", ro]).status, 0)
        try body(ro)
    }

    /// `cache clear` and `cache gc` on a cache that cannot be written (a read-only bind mount, so
    /// even root cannot write): they said "removed 0 layer(s)" with status 0, or called the layer
    /// "in use by a running process" when it had no lock file. Now each layer they could not
    /// remove is one line on stderr naming the read-only cache, and the status is 1.
    func testClearAndGcOnAReadOnlyCacheSayWhatTheyCouldNotRemove() throws {
        try withReadOnlyCache { ro in
            for withLocks in [true, false] {
                if !withLocks { try Harness.run("/bin/sh", ["-c", "rm -f '\(cache)'/locks/*"]) }
                for args in [["cache", "clear"], ["cache", "gc", "--older-than", "0s", "--keep", "0"]] {
                    let o = try ops(args, env: ["OPS_LAUNCHER_CACHE_DIR": ro])
                    XCTAssertEqual(o.status, 1, "\(args) locks: \(withLocks): \(o.stdout)")
                    XCTAssertTrue(o.stderr.contains("cannot remove layer") && o.stderr.contains("read-only"), o.stderr)
                    XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
                    XCTAssertFalse(o.stdout.contains("in use"), o.stdout)
                    XCTAssertEqual(layerDirs().count, 1)
                }
            }
        }
    }

    /// A launch that must extract into a cache it cannot write says how to fix it, in one line:
    /// a read-only cache lacking the entry's layer, and a cache directory that cannot be created.
    func testALaunchThatCannotWriteItsCacheSaysHowToFixIt() throws {
        try withReadOnlyCache { ro in
            let o = try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": ro, "OPS_LAUNCHER_ENTRY": "hold"])
            XCTAssertEqual(o.status, 125, o.stdout)
            XCTAssertTrue(
                o.stderr.contains("Read-only file system")
                    && o.stderr.contains("set OPS_LAUNCHER_CACHE_DIR to a directory you can write to"), o.stderr)
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        }

        chmod(dir, 0o755)
        let c = try Harness.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary],
            env: ["OPS_LAUNCHER_CACHE_DIR": dir + "/not-yours/cache", "HOME": "/nonexistent"])
        XCTAssertEqual(c.status, 125, c.stdout)
        XCTAssertTrue(
            c.stderr.contains("cannot create cache directory")
                && c.stderr.contains("set OPS_LAUNCHER_CACHE_DIR to a directory you can write to"), c.stderr)
        XCTAssertEqual(c.stderr.filter { $0 == "\n" }.count, 1, c.stderr)
    }

    func testLastUseIsRecordedOnEveryLaunch() throws {
        try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        let records = try FileManager.default.contentsOfDirectory(atPath: cache + "/bundles")
        XCTAssertEqual(records.count, 1)
        let path = cache + "/bundles/" + records[0]
        var old = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &old, 0), 0)
        try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        let mtime =
            (try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)?.timeIntervalSince1970
            ?? 0
        XCTAssertGreaterThan(mtime, Date().timeIntervalSince1970 - 60)
    }

    func testVerifyFindsDamageAndRepairFixesIt() throws {
        try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(try ops(["cache", "verify"]).status, 0)
        let layer = cache + "/layers/" + layerDirs()[0]
        try Harness.write("data b\n", to: layer + "/data.txt")  // same size, other content
        try Harness.write("new\n", to: layer + "/unexpected.txt")
        var o = try ops(["cache", "verify"])
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(
            o.stdout.contains("modified (content): data.txt") && o.stdout.contains("unexpected: unexpected.txt"),
            o.stdout)
        o = try ops(["cache", "verify", "--repair"])
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertEqual(try String(contentsOfFile: layer + "/data.txt", encoding: .utf8), "data a\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: layer + "/unexpected.txt"))
        try FileManager.default.removeItem(atPath: layer + "/data.txt")
        o = try ops(["cache", "verify", "--json"])
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(o.stdout.contains("missing: data.txt"), o.stdout)
    }

    func testGcNeverRemovesALayerInUse() throws {
        try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        let holder = try startHolder()
        defer { if holder.isRunning { holder.terminate() } }
        XCTAssertEqual(layerDirs().count, 2)
        var o = try ops(["cache", "gc", "--older-than", "0s", "--keep", "0"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(
            o.stdout.contains("removed 1 layer(s)") && o.stdout.contains("in use by a running process"), o.stdout)
        XCTAssertEqual(layerDirs().count, 1, "the held layer stays")
        holder.terminate(); holder.waitUntilExit()
        o = try ops(["cache", "gc", "--older-than", "0s", "--keep", "0"])
        XCTAssertTrue(o.stdout.contains("removed 1 layer(s)"), o.stdout)
        XCTAssertEqual(layerDirs(), [])
        XCTAssertEqual(
            try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n",
            "a later launch extracts again")
    }

    /// Two apps share one cache root and one layer: `cache list` shows both bundles and who uses
    /// which layer; gc keeps what a recent bundle needs, removes the rest once it is old, unlinks
    /// their lock files, and applies --older-than to a layer no bundle record names.
    func testTwoAppsSharingALayerAndGcByAge() throws {
        try Harness.write("#!/bin/sh\necho other\n", to: dir + "/c/x.sh", mode: 0o755)
        try Harness.write(
            "[bundle]\nname = \"other\"\nversion = \"1\"\n[layers.a]\npath = \"a\"\n[layers.c]\npath = \"c\"\n"
                + "[entries.other]\nexec = [\"/bin/sh\", \"{c}/x.sh\"]\nlayers = [\"a\"]\n", to: dir + "/other.toml")
        let other = dir + "/other"
        try Harness.tool([
            "build", dir + "/other.toml", "-o", other, "--key", dir + "/k.key", "--stub", Harness.stub, "-q",
        ])
        XCTAssertEqual(try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        XCTAssertEqual(try Harness.run(other, [], env: ["OTHER_LAUNCHER_CACHE_DIR": cache]).stdout, "other\n")
        XCTAssertEqual(layerDirs().count, 2, "layer a is shared, so only a and c are extracted")

        let list = try ops(["cache", "list", "--json"])
        let json = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any], list.stdout)
        let bundles = try XCTUnwrap(json["bundles"] as? [[String: Any]])
        XCTAssertEqual(Set(bundles.compactMap { $0["app"] as? String }), ["ops", "other"])
        let users = try XCTUnwrap(json["layers"] as? [[String: Any]]).map { ($0["bundles"] as? [String])?.count ?? 0 }
        XCTAssertEqual(users.sorted(), [1, 2], "one layer used by both bundles, one by 'other' only")

        // Make 'ops' 40 days old: 'other' is recent and needs both layers, so nothing goes.
        func age(_ app: String, days: Int) throws {
            let rec = try XCTUnwrap(bundles.first { $0["app"] as? String == app }?["digest"] as? String)
            let when = Date().addingTimeInterval(-Double(days) * 86400)
            try FileManager.default.setAttributes([.modificationDate: when], ofItemAtPath: cache + "/bundles/" + rec)
        }
        try age("ops", days: 40)
        var o = try ops(["cache", "gc", "--keep", "0"])
        XCTAssertTrue(o.stdout.contains("removed 0 layer(s)"), o.stdout)
        // Both old: both layers go, and so do their lock files; `list` creates none.
        try age("other", days: 40)
        o = try ops(["cache", "gc", "--keep", "0"])
        XCTAssertTrue(o.stdout.contains("removed 2 layer(s)"), o.stdout)
        XCTAssertEqual(layerDirs(), [])
        _ = try ops(["cache", "list"])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cache + "/locks"), [], "no lock files left or made")

        // A layer no record names counts from its extraction: kept by the 30-day default.
        XCTAssertEqual(try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        for r in try FileManager.default.contentsOfDirectory(atPath: cache + "/bundles") {
            try FileManager.default.removeItem(atPath: cache + "/bundles/" + r)
        }
        XCTAssertTrue(try ops(["cache", "gc", "--keep", "0"]).stdout.contains("removed 0 layer(s)"))
        XCTAssertTrue(
            try ops(["cache", "gc", "--keep", "0", "--older-than", "0s"]).stdout.contains("removed 1 layer(s)"))
    }

    func testGcKeepsRecentlyUsedBundles() throws {
        try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        let o = try ops(["cache", "gc"])  // default: 30 days, keep 1
        XCTAssertTrue(o.stdout.contains("removed 0 layer(s)"), o.stdout)
        XCTAssertEqual(layerDirs().count, 1)
        // The launcher's own failures exit 125 with one line naming the program (`ops: ...`).
        assertFailed(
            try ops(["cache", "gc", "--older-than", "soon"]), status: 125,
            mentioning: "ops: --older-than: 'soon' is not a duration like 30d")
    }

    func testClearRespectsInUseAndReportsSpace() throws {
        try Harness.run(binary, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        let holder = try startHolder()
        defer { if holder.isRunning { holder.terminate() } }
        var o = try ops(["cache", "clear"])
        XCTAssertEqual(o.status, 1, "a layer in use remains")
        XCTAssertTrue(o.stdout.contains("removed 1 layer(s), freed") && o.stdout.contains("in use"), o.stdout)
        holder.terminate(); holder.waitUntilExit()
        o = try ops(["cache", "clear", "--all", "--json"])
        XCTAssertEqual(o.status, 0)
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertGreaterThan(json?["freed"] as? Int ?? 0, 0)
        XCTAssertEqual(layerDirs(), [])
    }

    func testExtractWritesTheWholeBundle() throws {
        let o = try ops(["extract", dir + "/out"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/out/a/data.txt", encoding: .utf8), "data a\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/b/hold.sh"))
        XCTAssertEqual(try ops(["extract", dir + "/out"]).status, 125, "refuses a non-empty directory")
        XCTAssertEqual(try ops(["cache", "bogus"]).status, 125)
    }

    /// A layer's frames are checked against their signed digests as they are read, the last one
    /// after the files before it were written, so `extract` writes it under a hidden partial name
    /// first: a tampered layer never appears under its name, and its partial tree is removed.
    /// Layer `b`'s last bytes are flipped (it is stored after `a`, before the generated SBOM's layer).
    func testExtractOfATamperedLayerLeavesNothingOfIt() throws {
        var bytes = try Harness.bytes(binary)
        let t = try Harness.trailer(bytes)
        let manifest = try Manifest(
            decoding: Array(bytes[Int(t.header.lowerBound)..<Int(t.header.upperBound)]),
            layersLength: UInt64(t.layers.count), tablesLength: UInt64(t.tables.count))
        let b = try XCTUnwrap(manifest.layers.first { $0.name == "b" })
        bytes[Int(t.layers.lowerBound + b.offset + b.compressedSize) - 8] ^= 0x20
        let tampered = dir + "/tampered"
        try Harness.writeBytes(bytes, to: tampered)
        let o = try Harness.run(
            tampered, ["--launcher", "extract", dir + "/out"], env: ["OPS_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 125, o.stderr)
        XCTAssertTrue(o.stderr.contains("/out/b"), o.stderr)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir + "/out"), ["a"],
            "only the intact layer, nothing of b (no partial tree)")
    }
}
