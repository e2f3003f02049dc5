import Foundation
import XCTest

/// bundle-append and dgmo-build behave like tools (issue 15, items 5 and 6): `--version`, help
/// that exits 0, errors in one strerror-style voice, and no build that destroys its own inputs
/// or silently ships a sparse multi-GB file.
final class PackagerGuardTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        try Harness.write("#!/bin/sh\necho run\n", to: dir + "/layer/run.sh", mode: 0o755)
        try writeSpec(extra: "")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func writeSpec(extra: String, path: String = "layer", name: String = "app.toml") throws {
        try Harness.write(
            """
            [bundle]
            name = "guard"
            version = "1.0"
            [layers.main]
            path = "\(path)"
            \(extra)
            [entries.guard]
            exec = ["/bin/sh", "{main}/run.sh"]
            """, to: dir + "/" + name)
    }

    func build(_ args: [String]) throws -> Harness.Output {
        try Harness.run(Harness.tool, ["build", dir + "/app.toml", "--stub", Harness.stub] + args)
    }

    /// One voice: no Foundation sentence, no curly apostrophe, no "a integer".
    func assertPlainError(
        _ o: Harness.Output, contains text: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertNotEqual(o.status, 0, file: file, line: line)
        XCTAssertTrue(o.stderr.contains(text), "expected '\(text)' in: \(o.stderr)", file: file, line: line)
        for bad in ["\u{2019}", "The operation could not be completed", "a integer", "The file"] {
            XCTAssertFalse(o.stderr.contains(bad), "'\(bad)' in: \(o.stderr)", file: file, line: line)
        }
        XCTAssertEqual(o.stderr.split(separator: "\n").count, 1, "one line: \(o.stderr)", file: file, line: line)
    }

    func testToolsPrintTheirVersion() throws {
        for tool in [Harness.tool, Harness.binDir + "/dgmo-build"] {
            let o = try Harness.run(tool, ["--version"])
            XCTAssertEqual(o.status, 0, o.stderr)
            let name = (tool as NSString).lastPathComponent
            XCTAssertTrue(o.stdout.hasPrefix("\(name) 0.4.0 (bundle format 3)"), o.stdout)
        }
    }

    func testErrorsAreStrerrorStyle() throws {
        assertPlainError(
            try Harness.run(Harness.tool, ["build", dir + "/missing.toml", "-o", dir + "/out", "--unsigned"]),
            contains: "missing.toml: cannot read spec: No such file or directory")
        assertPlainError(
            try Harness.run(Harness.tool, ["build", dir, "-o", dir + "/out", "--unsigned"]),
            contains: "cannot read spec: Is a directory")
        try writeSpec(extra: "compression = 3")
        assertPlainError(
            try build(["-o", dir + "/out", "--unsigned"]),
            contains: "layers.main.compression: expected a string, found an integer")
        try writeSpec(extra: "")
        assertPlainError(
            try build(["-o", dir + "/out", "--key", dir + "/nokey.key"]),
            contains: "nokey.key: No such file or directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))
    }

    func testLayerPathThatIsASymlinkLoopSaysSo() throws {
        XCTAssertEqual(symlink("loop", dir + "/loop"), 0)
        try writeSpec(extra: "", path: "loop")
        assertPlainError(
            try build(["-o", dir + "/out", "--unsigned"]),
            contains: "is a symlink loop (Too many levels of symbolic links)")
    }

    func testAPublicKeyPassedAsKeySaysItIsAPublicKey() throws {
        try Harness.tool(["keygen", dir + "/k"])
        let o = try build(["-o", dir + "/out", "--key", dir + "/k.pub"])
        assertPlainError(o, contains: "k.pub is a public key; signing needs the secret key")
        let s = try Harness.run(Harness.tool, ["sign", dir + "/app.toml", "--key", dir + "/k.pub"])
        assertPlainError(s, contains: "is a public key")
    }

    /// The mirror slip: the secret key where the public one belongs (verify --pubkey, plain or
    /// encrypted, and verify --signature with --pubkey).
    func testASecretKeyPassedAsPubkeySaysItIsASecretKey() throws {
        try Harness.tool(["keygen", dir + "/k"])
        try Harness.tool([
            "build", dir + "/app.toml", "--stub", Harness.stub, "-o", dir + "/out", "--key", dir + "/k.key", "-q",
        ])
        try Harness.tool(["sign", dir + "/out", "--key", dir + "/k.key"])
        assertPlainError(
            try Harness.run(Harness.tool, ["verify", dir + "/out", "--pubkey", dir + "/k.key"]),
            contains: "k.key is a secret key; verifying needs the public key (the .pub file beside it)")
        assertPlainError(
            try Harness.run(
                Harness.tool, ["verify", dir + "/out", "--signature", dir + "/out.minisig", "--pubkey", dir + "/k.key"]),
            contains: "k.key is a secret key; verifying needs the public key")
        XCTAssertEqual(
            try Harness.run(Harness.tool, ["verify", dir + "/out", "--pubkey", dir + "/k.pub"]).status, 0,
            "the public key still verifies")
        // A missing key or signature beside --signature: strerror, not Foundation's sentence.
        assertPlainError(
            try Harness.run(
                Harness.tool,
                ["verify", dir + "/out", "--signature", dir + "/out.minisig", "--pubkey", dir + "/none.pub"]),
            contains: "none.pub: No such file or directory")
        assertPlainError(
            try Harness.run(
                Harness.tool,
                ["verify", dir + "/out", "--signature", dir + "/none.minisig", "--pubkey", dir + "/k.pub"]),
            contains: "none.minisig: No such file or directory")
        try Harness.write("garbage\n", to: dir + "/bad.pub")
        assertPlainError(
            try Harness.run(Harness.tool, ["verify", dir + "/out", "--pubkey", dir + "/bad.pub"]),
            contains: "bad.pub: public key:")
    }

    func testOutputNamingTheSpecOrAPathInALayerIsRefusedBeforeWriting() throws {
        let spec = try String(contentsOfFile: dir + "/app.toml", encoding: .utf8)
        var o = try build(["-o", dir + "/app.toml", "--unsigned"])
        assertPlainError(o, contains: "is the spec file itself")
        XCTAssertEqual(try String(contentsOfFile: dir + "/app.toml", encoding: .utf8), spec, "the spec is untouched")
        // The same file through another name (a symlink to the directory).
        XCTAssertEqual(symlink(dir, dir + "/alias"), 0)
        o = try build(["-o", dir + "/alias/app.toml", "--unsigned"])
        assertPlainError(o, contains: "is the spec file itself")

        let before = try FileManager.default.contentsOfDirectory(atPath: dir + "/layer").sorted()
        for out in [dir + "/layer/app", dir + "/layer/sub/app", dir + "/alias/layer/app"] {
            o = try build(["-o", out, "--unsigned"])
            XCTAssertNotEqual(o.status, 0, out)
            XCTAssertTrue(o.stderr.contains("is inside layer 'main'"), o.stderr)
        }
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir + "/layer").sorted(), before,
            "nothing written into the layer")
        // A sibling directory whose name starts like the layer's is not inside it.
        try FileManager.default.createDirectory(atPath: dir + "/layer2", withIntermediateDirectories: true)
        XCTAssertEqual(try build(["-o", dir + "/layer2/app", "--unsigned", "-q"]).status, 0)
    }

    func testLargeAndSparseFilesAreRefusedOrWarnedWithTheirSize() throws {
        // A sparse 8 MiB file (4 KiB of data): built, with a warning naming its size.
        let small = open(dir + "/layer/disk.img", O_WRONLY | O_CREAT, 0o644)
        XCTAssertEqual(pwrite(small, "data", 4, 0), 4)
        XCTAssertEqual(ftruncate(small, 8 << 20), 0)
        close(small)
        var o = try build(["-o", dir + "/out", "--unsigned", "-q"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stderr.contains("warning: layer 'main': disk.img is 8.0 MiB (sparse"), o.stderr)
        XCTAssertTrue(o.stderr.contains("every user's first run writes all of it"), o.stderr)

        // 1.5 GiB (sparse, nothing on disk): refused before anything is written, unless --allow-large.
        let big = open(dir + "/layer/huge.img", O_WRONLY | O_CREAT, 0o644)
        XCTAssertEqual(ftruncate(big, 3 << 29), 0)
        close(big)
        try? FileManager.default.removeItem(atPath: dir + "/out")
        o = try build(["-o", dir + "/out", "--unsigned", "-q"])
        assertPlainError(o, contains: "layer 'main': huge.img is 1.5 GiB (sparse")
        XCTAssertTrue(o.stderr.contains("need --allow-large"), o.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))

        o = try build([
            "-o", dir + "/out", "--unsigned", "-q", "--allow-large", "--compression", "zstd", "--level", "1",
        ])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stderr.contains("warning: layer 'main': huge.img is 1.5 GiB (sparse"), o.stderr)
    }

    func testLauncherCacheHelpExitsZero() throws {
        try Harness.tool(["build", dir + "/app.toml", "-o", dir + "/guard", "--unsigned", "--stub", Harness.stub, "-q"])
        for args in [["cache", "--help"], ["cache"], ["cache", "-h"]] {
            let o = try Harness.run(
                dir + "/guard", ["--launcher"] + args, env: ["GUARD_LAUNCHER_CACHE_DIR": dir + "/cache"])
            XCTAssertEqual(o.status, 0, "\(args): \(o.stderr)")
            XCTAssertTrue(o.stdout.hasPrefix("usage: guard --launcher cache COMMAND"), o.stdout)
            for c in ["cache path", "cache list [--json]", "cache verify", "cache gc", "cache clear"] {
                XCTAssertTrue(o.stdout.contains(c), c)
            }
        }
        for sub in ["path", "list", "verify", "gc", "clear"] {
            let o = try Harness.run(
                dir + "/guard", ["--launcher", "cache", sub, "--help"],
                env: ["GUARD_LAUNCHER_CACHE_DIR": dir + "/cache"])
            XCTAssertEqual(o.status, 0, "\(sub): \(o.stderr)")
            XCTAssertTrue(o.stdout.hasPrefix("usage: guard --launcher cache \(sub)"), o.stdout)
            XCTAssertEqual(o.stderr, "")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/cache/layers"), "help extracts nothing")
        // An unknown option still fails.
        let bad = try Harness.run(
            dir + "/guard", ["--launcher", "cache", "list", "--frob"], env: ["GUARD_LAUNCHER_CACHE_DIR": dir + "/cache"]
        )
        XCTAssertEqual(bad.status, 125)
    }
}
