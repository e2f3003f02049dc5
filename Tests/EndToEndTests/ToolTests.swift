import Foundation
import XCTest
import BundleCrypto
import BundleFormat
import TestSupport

/// bundle-append's commands, run as a packager would.
final class ToolTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        // An odd little tree: nested dirs, an empty file, an empty dir, a symlink, modes, Unicode.
        try Harness.write("#!/bin/sh\necho tree ok\n", to: dir + "/tree/bin/run", mode: 0o755)
        try Harness.write("", to: dir + "/tree/empty.txt")
        try Harness.write("read only\n", to: dir + "/tree/ro.txt", mode: 0o444)
        try Harness.write("naïve data with spaces\n", to: dir + "/tree/dir with spaces/ünïcode.txt")
        try FileManager.default.createDirectory(atPath: dir + "/tree/empty-dir", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/tree/bin/link", withDestinationPath: "../ro.txt")
        try Harness.write(
            """
            [bundle]
            name = "tree"
            version = "0.1.0"
            [layers.tree]
            path = "tree"
            compression = "zlib"
            level = 9
            [entries.run]
            exec = ["/bin/sh", "{tree}/bin/run"]
            """, to: dir + "/tree.toml")
        try Harness.tool(["keygen", dir + "/k"])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func build(_ out: String, _ extra: [String] = [], env: [String: String] = [:]) throws {
        try Harness.tool(
            ["build", dir + "/tree.toml", "-o", out, "--key", dir + "/k.key", "--stub", Harness.stub, "-q"] + extra,
            env: env)
    }

    func testKeygenWritesMinisignFilesWithPrivateMode() throws {
        var st = stat()
        XCTAssertEqual(stat(dir + "/k.key", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let pub = try String(contentsOfFile: dir + "/k.pub", encoding: .utf8)
        XCTAssertTrue(pub.hasPrefix("untrusted comment: minisign public key "))
        let line = String(pub.split(separator: "\n")[1])
        let raw = Data(base64Encoded: line).map(Array.init) ?? []
        XCTAssertEqual(raw.count, 42, "base64 of \"Ed\" + key id + key")
        XCTAssertEqual(Array(raw.prefix(2)), [0x45, 0x64])
        // bundle-append's failures exit 1 with one line (ArgumentParser's "Error: " and the message).
        let again = try Harness.run(Harness.tool, ["keygen", dir + "/k"])
        assertFailed(
            again, status: 1, mentioning: dir + "/k.key already exists (use --force to overwrite)",
            "must not overwrite a key")
    }

    /// The targets without a launcher (issue 24): the parser takes their names, and the build
    /// fails with one line, writing nothing: no stub is found, or the stub given is not theirs.
    /// A name that is not a target (the release matrix's spelling) is refused by the parser.
    func testTargetsWithoutALauncherFailInOneLine() throws {
        let out = dir + "/other-target"
        for target in ["windows-x64", "macos-x64", "macos-arm64"] {
            let base = ["build", dir + "/tree.toml", "-o", out, "--key", dir + "/k.key", "--target", target, "-q"]
            // windows-x64 has a launcher (make stubs-windows; WindowsTests): only the wrong stub is refused here.
            if target != "windows-x64" {
                let missing = try Harness.run(Harness.tool, base)
                assertFailed(missing, status: 1, mentioning: "cannot find the \(target) launcher stub", target)
                XCTAssertTrue(missing.stderr.contains("no \(target) launcher is built yet"), missing.stderr)
            }
            let linuxStub = try Harness.run(Harness.tool, base + ["--stub", Harness.stub])
            assertFailed(
                linuxStub, status: 1, mentioning: "the stub is an x86-64 ELF file, but target \(target) needs an",
                target)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), target)
        }
        let unknown = try Harness.run(
            Harness.tool, ["build", dir + "/tree.toml", "-o", out, "--key", dir + "/k.key", "--target", "win32-x64"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(
            unknown.stderr.contains(
                "--target must be one of linux-x64, linux-arm64, windows-x64, macos-x64, macos-arm64, not 'win32-x64'"),
            unknown.stderr)
    }

    /// A stub found beside the tool becomes the launcher of what the user signs: one that another
    /// user owns, or could have replaced (a directory others can write to, not sticky), is skipped
    /// and named, never used (review of issue 28: a tool unpacked into /tmp found /tmp/stubs).
    func testAStubAnotherUserCouldHavePlantedIsNotUsed() throws {
        guard getuid() == 0 else { throw XCTSkip("chown to another user needs root") }
        let home = dir + "/tool"
        try FileManager.default.createDirectory(atPath: home + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: home + "/stubs/linux-x64", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Harness.tool, toPath: home + "/bin/bundle-append")
        let stub = home + "/stubs/linux-x64/bundle-stub"
        try FileManager.default.copyItem(atPath: Harness.stub, toPath: stub)
        let build = ["build", dir + "/tree.toml", "-o", dir + "/planted", "--key", dir + "/k.key", "-q"]
        func attempt() throws -> Harness.Output { try Harness.run(home + "/bin/bundle-append", build) }

        XCTAssertEqual(try attempt().status, 0, "ours, in directories only we can write: used")
        try FileManager.default.removeItem(atPath: dir + "/planted")
        XCTAssertEqual(chown(home + "/stubs", 65534, 65534), 0)
        var o = try attempt()
        assertFailed(
            o, status: 1, mentioning: "skipped \(stub) (\(home)/stubs is owned by uid 65534, not by you or root)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/planted"))
        XCTAssertEqual(chown(home + "/stubs", 0, 0), 0)
        XCTAssertEqual(chmod(home + "/stubs/linux-x64", 0o777), 0)
        o = try attempt()
        assertFailed(o, status: 1, mentioning: "(\(home)/stubs/linux-x64 is writable by every user)")
        XCTAssertEqual(chmod(home + "/stubs/linux-x64", 0o1777), 0)
        XCTAssertEqual(try attempt().status, 0, "sticky, like /tmp: others cannot replace our stub in it")
    }

    func testBuildIsDeterministic() throws {
        try build(dir + "/one", env: ["SOURCE_DATE_EPOCH": "1700000000"])
        try build(dir + "/two", env: ["SOURCE_DATE_EPOCH": "1700000000"])
        XCTAssertEqual(try Harness.bytes(dir + "/one"), try Harness.bytes(dir + "/two"))
        try build(dir + "/three", env: ["SOURCE_DATE_EPOCH": "1700000001"])
        XCTAssertNotEqual(try Harness.bytes(dir + "/one"), try Harness.bytes(dir + "/three"))
    }

    func testVerifyAcceptsGoodAndRefusesTampered() throws {
        try build(dir + "/b")
        let ok = try Harness.tool(["verify", dir + "/b", "--pubkey", dir + "/k.pub"])
        XCTAssertTrue(ok.stdout.contains("OK"), ok.stdout)
        var bytes = try Harness.bytes(dir + "/b")
        bytes[Int(try Harness.trailer(bytes).stubLength) + 5] ^= 0xFF  // inside the layer data
        try Harness.writeBytes(bytes, to: dir + "/bad")
        let bad = try Harness.run(Harness.tool, ["verify", dir + "/bad", "--pubkey", dir + "/k.pub"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("layer 'tree'"), bad.stderr)
        try Harness.tool(["keygen", dir + "/other"])
        let wrongKey = try Harness.run(Harness.tool, ["verify", dir + "/b", "--pubkey", dir + "/other.pub"])
        assertFailed(wrongKey, status: 1, mentioning: "not by the trusted key")
        XCTAssertTrue(wrongKey.stderr.contains(dir + "/b: bundle is signed by key "), wrongKey.stderr)
    }

    func testExtractRoundTripsTheTreeExactly() throws {
        try build(dir + "/b")
        try Harness.tool(["extract", dir + "/b", dir + "/out"])
        let diff = try Harness.run("/usr/bin/diff", ["-r", "--no-dereference", dir + "/tree", dir + "/out/tree"])
        XCTAssertEqual(diff.status, 0, diff.stdout + diff.stderr)
        let fm = FileManager.default
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: dir + "/out/tree/bin/link"), "../ro.txt")
        XCTAssertEqual((try fm.attributesOfItem(atPath: dir + "/out/tree/ro.txt")[.posixPermissions] as? Int), 0o444)
        XCTAssertEqual((try fm.attributesOfItem(atPath: dir + "/out/tree/bin/run")[.posixPermissions] as? Int), 0o755)
        XCTAssertTrue(fm.fileExists(atPath: dir + "/out/tree/empty-dir"))
        let again = try Harness.run(Harness.tool, ["extract", dir + "/b", dir + "/out"])
        assertFailed(
            again, status: 1, mentioning: dir + "/out exists and is not an empty directory",
            "extract must not write into a non-empty directory")
    }

    /// 10,000 files, a path near the 4096-byte limit, Unicode and spaces, modes: extracted by the
    /// launcher exactly as they were.
    func testLargeAndOddTreesRoundTripThroughTheLauncher() throws {
        let big = dir + "/big"
        for i in 0..<10_000 {
            let sub = big + "/d\(i / 500)"
            if i % 500 == 0 { try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true) }
            try Harness.createFile(sub + "/f \(i) ü", Data("\(i)\n".utf8), mode: i % 3 == 0 ? 0o755 : 0o444)
        }
        var deep = big
        for _ in 0..<15 { deep += "/" + String(repeating: "ä", count: 100) }  // 15 × 201 bytes
        try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
        try Harness.write("deep\n", to: deep + "/leaf.txt")
        try Harness.write("#!/bin/sh\necho big ok\n", to: big + "/run.sh", mode: 0o755)
        // A hard link pair, a symlink, an empty file and an empty directory as well.
        try Harness.write("shared\n", to: big + "/hard-a")
        XCTAssertEqual(link(big + "/hard-a", big + "/hard-b"), 0)
        try FileManager.default.createSymbolicLink(atPath: big + "/d0/to-run", withDestinationPath: "../run.sh")
        try Harness.createFile(big + "/empty file")
        try FileManager.default.createDirectory(atPath: big + "/empty dir", withIntermediateDirectories: true)
        try Harness.write(
            "[bundle]\nname = \"big\"\nversion = \"1\"\n[layers.big]\npath = \"big\"\n[entries.big]\nexec = [\"/bin/sh\", \"{big}/run.sh\"]\n",
            to: dir + "/big.toml")
        try Harness.tool([
            "build", dir + "/big.toml", "-o", dir + "/bigbin", "--key", dir + "/k.key", "--stub", Harness.stub, "-q",
        ])
        let o = try Harness.run(dir + "/bigbin", [], env: ["BIG_LAUNCHER_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(o.stdout, "big ok\n", o.stderr)
        let layer = try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/layers")[0]
        let diff = try Harness.run("/usr/bin/diff", ["-r", "-x", ".dgmo-layer", big, dir + "/cache/layers/" + layer])
        XCTAssertEqual(diff.status, 0, String(diff.stdout.prefix(500)))
        let modes = try Harness.run(
            "/bin/sh",
            [
                "-c",
                "cd '\(big)' && find . -type f -printf '%m %p\\n' | sort > /tmp/m1.\(getpid()); cd '\(dir)/cache/layers/\(layer)' && find . -type f ! -name .dgmo-layer -printf '%m %p\\n' | sort | diff /tmp/m1.\(getpid()) -",
            ])
        XCTAssertEqual(modes.status, 0, "modes differ: \(modes.stdout.prefix(300))")
        // Hard links come back as independent copies (docs/spec.md); the symlink as a symlink.
        let root = dir + "/cache/layers/" + layer
        var a = stat(), b = stat()
        XCTAssertEqual(lstat(root + "/hard-a", &a), 0)
        XCTAssertEqual(lstat(root + "/hard-b", &b), 0)
        XCTAssertNotEqual(a.st_ino, b.st_ino)
        XCTAssertEqual(a.st_nlink, 1)
        XCTAssertEqual(try String(contentsOfFile: root + "/hard-b", encoding: .utf8), "shared\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/d0/to-run"), "../run.sh")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/empty dir"), [])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: root + "/empty file")[.size] as? Int, 0)
    }

    /// The builder refuses links that leave the layer, naming the file, before writing anything.
    func testBuildRefusesEscapingAndAbsoluteSymlinks() throws {
        for (name, target) in [("up", "../../etc/passwd"), ("abs", "/etc/passwd"), ("deep", "a/../../x")] {
            let tree = dir + "/esc-" + name
            try Harness.write("x\n", to: tree + "/file")
            try FileManager.default.createSymbolicLink(atPath: tree + "/link", withDestinationPath: target)
            try Harness.write(
                "[bundle]\nname = \"esc\"\nversion = \"1\"\n[layers.t]\npath = \"esc-\(name)\"\n[entries.e]\nexec = [\"{t}/file\"]\n",
                to: dir + "/esc-\(name).toml")
            let o = try Harness.run(
                Harness.tool,
                [
                    "build", dir + "/esc-\(name).toml", "-o", dir + "/esc-\(name).bin", "--key", dir + "/k.key",
                    "--stub", Harness.stub,
                ])
            XCTAssertNotEqual(o.status, 0, target)
            XCTAssertTrue(o.stderr.contains("link") && o.stderr.contains("is not allowed"), o.stderr)
            XCTAssertEqual(o.stderr.split(separator: "\n").count, 1, o.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/esc-\(name).bin"))
        }
    }

    /// On a terminal `build` draws a progress bar on stderr (and clears it); piped, it does not.
    func testProgressBarOnlyOnATerminal() throws {
        // Enough data that compression takes a moment: 8 MiB of pseudo-random bytes.
        var rng = SplitMix64.seeded(0x7017_BA55, for: name)
        try Harness.writeBytes(rng.bytes(8 << 20), to: dir + "/tree/blob")
        let cmd =
            "'\(Harness.tool)' build '\(dir)/tree.toml' -o '\(dir)/tty-bin' --key '\(dir)/k.key' --stub '\(Harness.stub)'"
        let tty = try Harness.run("/usr/bin/script", ["-qec", cmd, "/dev/null"])
        XCTAssertEqual(tty.status, 0, tty.stdout)
        XCTAssertTrue(tty.stdout.contains("compressing layers [") && tty.stdout.contains("100%"), tty.stdout)
        let piped = try Harness.tool([
            "build", dir + "/tree.toml", "-o", dir + "/piped-bin", "--key", dir + "/k.key", "--stub", Harness.stub,
        ])
        XCTAssertFalse(piped.stderr.contains("compressing layers"), piped.stderr)
        XCTAssertTrue(piped.stdout.contains("built "), piped.stdout)
    }

    func testInspectJSON() throws {
        try build(dir + "/b")
        let o = try Harness.tool(["inspect", dir + "/b", "--json", "--files"])
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["app"] as? String, "tree")
        let layers = json?["layers"] as? [[String: Any]]
        XCTAssertEqual(layers?.first?["codec"] as? String, "zlib")
        XCTAssertEqual(
            (layers?.first?["fileList"] as? [Any])?.count, 8,
            "bin, bin/link, bin/run, dir with spaces, its file, empty-dir, empty.txt, ro.txt")
        // Format version 3: the frames digest (which the cache name binds), the number of frames and
        // the largest frame's decoded size, as the header says; no data digest any more.
        let b = try Harness.bytes(dir + "/b")
        let t = try Harness.trailer(b)
        let manifest = try Manifest(
            decoding: Array(b[Int(t.header.lowerBound)..<Int(t.header.upperBound)]),
            layersLength: UInt64(t.layers.count), tablesLength: UInt64(t.tables.count))
        let layer = try XCTUnwrap(manifest.layers.first)
        XCTAssertEqual(layers?.first?["framesDigest"] as? String, Hex.encode(layer.framesDigest))
        XCTAssertEqual(layers?.first?["frames"] as? Int, layer.frames.count)
        XCTAssertEqual(layers?.first?["frames"] as? Int, 1)
        XCTAssertEqual(layers?.first?["largestFrame"] as? Int, Int(layer.uncompressedSize))
        XCTAssertNil(layers?.first?["dataDigest"])
    }

    func testBuiltBundleRuns() throws {
        try build(dir + "/b")
        let o = try Harness.run(dir + "/b", [], env: ["TREE_LAUNCHER_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "tree ok\n")
    }

    func testCompressionOverrides() throws {
        for codec in ["zstd", "xz", "zlib", "none"] {
            try build(dir + "/b-" + codec, ["--compression", codec])
            let o = try Harness.run(dir + "/b-" + codec, [], env: ["TREE_LAUNCHER_CACHE_DIR": dir + "/cache-" + codec])
            XCTAssertEqual(o.stdout, "tree ok\n", codec + ": " + o.stderr)
        }
    }

    func testBadSpecsGetOneLineErrorsNamingTheKey() throws {
        let cases: [(String, String)] = [
            (
                "[bundle]\nname = \"x\"\nversion = \"1\"\n[layers.a]\npath = \"missing\"\n[entries.e]\nexec = [\"{a}/x\"]\n",
                "layers.a.path"
            ),
            (
                "[bundle]\nname = \"x\"\nversion = \"1\"\n[layers.a]\npath = \"tree\"\n[entries.e]\nexec = [\"{b}/x\"]\n",
                "entries.e.exec[0]"
            ),
            (
                "[bundle]\nname = \"x\"\nversion = \"1\"\ncolour = \"red\"\n[layers.a]\npath = \"tree\"\n[entries.e]\nexec = [\"{a}/x\"]\n",
                "bundle.colour"
            ),
            (
                "[bundle]\nname = \"x\"\nversion = \"1\"\n[layers.a]\npath = \"tree\"\n[entries.e]\nexec = [\"{a}/x\"]\ndefault = true\n[entries.f]\nexec = [\"{a}/y\"]\ndefault = true\n",
                "default"
            ),
            (
                "[bundle]\nname = \"x\"\nversion = \"1\"\n[layers.a]\npath = \"tree\"\n[entries.e]\nexec = [\"{a}/x\"]\nlayers = [\"zz\"]\n",
                "entries.e.layers"
            ),
        ]
        for (i, (text, key)) in cases.enumerated() {
            let spec = dir + "/bad\(i).toml"
            try Harness.write(text, to: spec)
            let o = try Harness.run(
                Harness.tool, ["build", spec, "-o", dir + "/x", "--key", dir + "/k.key", "--stub", Harness.stub])
            XCTAssertNotEqual(o.status, 0)
            XCTAssertTrue(o.stderr.contains(key), "error should name \(key): \(o.stderr)")
            XCTAssertEqual(
                o.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, o.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x"))
        }
    }

    func testBuildNeedsKeyOrUnsigned() throws {
        let o = try Harness.run(Harness.tool, ["build", dir + "/tree.toml", "-o", dir + "/x", "--stub", Harness.stub])
        XCTAssertNotEqual(o.status, 0)
        XCTAssertTrue(o.stderr.contains("--unsigned"), o.stderr)
    }

    /// `sign` writes what `minisign -V` accepts; `verify --signature` accepts what `minisign -S` writes.
    func testMinisignInteroperabilityBothWays() throws {
        try build(dir + "/b")
        let signed = try Harness.tool(["sign", dir + "/b", "--key", dir + "/k.key"])
        XCTAssertTrue(signed.stdout.contains("app:tree"), signed.stdout)
        let v = try Harness.run("/usr/bin/minisign", ["-Vm", dir + "/b", "-p", dir + "/k.pub"])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        XCTAssertTrue(v.stdout.contains("version:0.1.0") && v.stdout.contains("bundle:"), v.stdout)

        XCTAssertEqual(
            try Harness.run("/usr/bin/minisign", ["-G", "-W", "-p", dir + "/m.pub", "-s", dir + "/m.key"]).status, 0)
        try Harness.write("any file\n", to: dir + "/any.txt")
        XCTAssertEqual(
            try Harness.run("/usr/bin/minisign", ["-Sm", dir + "/any.txt", "-s", dir + "/m.key", "-t", "hello"]).status,
            0)
        let ok = try Harness.tool([
            "verify", dir + "/any.txt", "--pubkey", dir + "/m.pub", "--signature", dir + "/any.txt.minisig",
        ])
        XCTAssertTrue(ok.stdout.contains("hello"), ok.stdout)
        try Harness.write("changed\n", to: dir + "/any.txt")
        let bad = try Harness.run(
            Harness.tool,
            ["verify", dir + "/any.txt", "--pubkey", dir + "/m.pub", "--signature", dir + "/any.txt.minisig"])
        assertFailed(
            bad, status: 1, mentioning: dir + "/any.txt: signature verification failed: the file was modified")

        // A bundle signed with a key minisign made (and a public key it wrote) verifies and runs.
        try Harness.tool([
            "build", dir + "/tree.toml", "-o", dir + "/mb", "--key", dir + "/m.key", "--stub", Harness.stub, "-q",
        ])
        try Harness.tool(["verify", dir + "/mb", "--pubkey", dir + "/m.pub"])
    }

    /// `--choose-compression FILE` measures once and records the choice; the next build reads it
    /// (no timing) and gives the same bytes.
    func testChosenCompressionIsRecordedAndReused() throws {
        let record = dir + "/choice.toml"
        let time = ["SOURCE_DATE_EPOCH": "1700000000"]  // the tree is in no git repository: no clock
        try build(dir + "/c1", ["--choose-compression", record], env: time)
        let text = try String(contentsOfFile: record, encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("tree = ") }, text)
        // codec:level:frame size; the spec's frame size (the default), not the one short frame of this
        // small layer.
        XCTAssertTrue(
            line == "tree = \"xz:9:\(8 << 20)\"" || line == "tree = \"zstd:22:\(8 << 20)\"", String(line))
        let inspect = try Harness.tool(["inspect", dir + "/c1", "--json"]).stdout
        XCTAssertTrue(inspect.contains("\"codec\" : \"\(line.contains("xz") ? "xz" : "zstd")\""), inspect)
        try build(dir + "/c2", ["--choose-compression", record], env: time)
        XCTAssertTrue(
            try Harness.bytes(dir + "/c1") == Harness.bytes(dir + "/c2"), "the recorded choice gave other bytes")
        XCTAssertEqual(try String(contentsOfFile: record, encoding: .utf8), text)
        let both = try Harness.run(
            Harness.tool,
            [
                "build", dir + "/tree.toml", "-o", dir + "/c3", "--key", dir + "/k.key", "--stub", Harness.stub,
                "--choose-compression", record, "--compression", "xz",
            ])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("drop --compression"), both.stderr)
    }

    /// `build --minisig` writes OUTPUT.minisig, which minisign accepts with the OUTPUT.pub written
    /// beside it; without a key there is nothing to sign with.
    func testBuildWritesADetachedSignatureAndPublicKeyWhenAsked() throws {
        try build(dir + "/s", ["--minisig"])
        XCTAssertEqual(
            try String(contentsOfFile: dir + "/s.pub", encoding: .utf8),
            try String(contentsOfFile: dir + "/k.pub", encoding: .utf8))
        let v = try Harness.run("/usr/bin/minisign", ["-Vm", dir + "/s", "-p", dir + "/s.pub"])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        XCTAssertTrue(v.stdout.contains("file:s\tapp:tree\tversion:0.1.0"), v.stdout)
        let unsigned = try Harness.run(
            Harness.tool,
            ["build", dir + "/tree.toml", "-o", dir + "/u", "--unsigned", "--minisig", "--stub", Harness.stub])
        XCTAssertNotEqual(unsigned.status, 0)
        XCTAssertTrue(unsigned.stderr.contains("--minisig needs --key"), unsigned.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/u"))
    }

    /// The bundle carries the stub without symbol tables: byte for byte what `strip --strip-all`
    /// makes of a debug stub, and the release stub unchanged (it is stripped already).
    func testTheBundlesStubIsTheStrippedStub() throws {
        try build(dir + "/b")
        let bundle = try Harness.bytes(dir + "/b")
        let inBundle = Array(bundle[..<Int(try Harness.trailer(bundle).stubLength)])
        let strip = try Harness.run("/usr/bin/strip", ["--strip-all", "-o", dir + "/stub.stripped", Harness.stub])
        XCTAssertEqual(strip.status, 0, strip.stderr)
        var expected = try Harness.bytes(dir + "/stub.stripped")
        XCTAssertEqual(inBundle.count, expected.count)
        // The key slot differs (patched in the bundle): compare everything else.
        let marker = Array("DGMO-BUNDLE-KEY-SLOT-V1-".utf8)
        let at = try XCTUnwrap(
            (0...(expected.count - marker.count)).first { expected[$0..<($0 + marker.count)].elementsEqual(marker) })
        expected.replaceSubrange(at..<(at + 96), with: inBundle[at..<(at + 96)])
        XCTAssertTrue(expected == inBundle, "the bundle's stub is not the stripped stub")
    }

    func testPasswordProtectedMinisignKeyBuilds() throws {
        let gen = try Harness.run(
            "/bin/sh", ["-c", "printf 'pw1\\npw1\\n' | minisign -G -p '\(dir)/e.pub' -s '\(dir)/e.key'"])
        XCTAssertEqual(gen.status, 0, gen.stderr)
        let noPassword = try Harness.run(
            Harness.tool,
            ["build", dir + "/tree.toml", "-o", dir + "/e", "--key", dir + "/e.key", "--stub", Harness.stub])
        XCTAssertNotEqual(noPassword.status, 0)
        XCTAssertTrue(noPassword.stderr.contains("BUNDLE_APPEND_PASSWORD"), noPassword.stderr)
        let wrong = try Harness.run(
            Harness.tool,
            ["build", dir + "/tree.toml", "-o", dir + "/e", "--key", dir + "/e.key", "--stub", Harness.stub],
            env: ["BUNDLE_APPEND_PASSWORD": "nope"])
        XCTAssertTrue(wrong.stderr.contains("wrong password"), wrong.stderr)
        try Harness.write("pw1\n", to: dir + "/pwfile")
        try Harness.tool([
            "build", dir + "/tree.toml", "-o", dir + "/e", "--key", dir + "/e.key", "--password-file", dir + "/pwfile",
            "--stub", Harness.stub, "-q",
        ])
        try Harness.tool(["verify", dir + "/e", "--pubkey", dir + "/e.pub"])
    }

    func testEveryCommandHasHelp() throws {
        for cmd in [[], ["keygen"], ["build"], ["sign"], ["inspect"], ["verify"], ["extract"]] {
            let o = try Harness.run(Harness.tool, cmd + ["--help"])
            XCTAssertEqual(o.status, 0)
            XCTAssertTrue(o.stdout.contains("USAGE"), o.stdout)
        }
    }
}
