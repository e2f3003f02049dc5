import Foundation
import XCTest
import BundleFormat

/// Builds real bundles with bundle-append around a static C program and a /bin/sh script,
/// runs them, and checks what the user and the runtime see.
final class LaunchTests: XCTestCase {
    var dir = ""
    var cache = ""
    var binary = ""

    /// A project with two layers (the static probe; a shell script) and three entries.
    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        cache = dir + "/cache"
        binary = try Harness.makeBundle(
            spec: """
                [bundle]
                name = "probe"
                version = "2.3.4"

                [layers.native]
                path = "native"

                [layers.scripts]
                path = "scripts"
                compression = "xz"

                [entries.probe]
                exec = ["{native}/probe", "--fixed"]
                env = { PROBE_HOME = "{native}" }
                default = true

                [entries.script]
                exec = ["/bin/sh", "{scripts}/run.sh"]
                """,
            tree: [
                "native/probe": .copy(of: try Harness.probeBinary()),
                "scripts/run.sh": .script(
                    "#!/bin/sh\necho \"script: $# args: $*\"\necho \"to stderr\" >&2\nexit ${SCRIPT_EXIT:-0}\n"),
            ], in: dir, output: "probe-bin")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func launch(_ args: [String] = [], env: [String: String] = [:], program: String? = nil) throws -> Harness.Output {
        var e = ["PROBE_LAUNCHER_CACHE_DIR": cache]
        for (k, v) in env { e[k] = v }
        return try Harness.run(program ?? binary, args, env: e)
    }

    func testArgumentsPassUnchanged() throws {
        let o = try launch(["a b", "", "ünï cödé", "--launcherx", "$HOME", "*"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let args = o.stdout.split(separator: "\n").filter { $0.hasPrefix("arg[") }
        XCTAssertEqual(
            args, ["arg[--fixed]", "arg[a b]", "arg[]", "arg[ünï cödé]", "arg[--launcherx]", "arg[$HOME]", "arg[*]"])
        XCTAssertTrue(o.stdout.contains("argc=8"), "argv[0], --fixed and six user arguments")
    }

    /// An argument that is not UTF-8 reaches the runtime byte for byte.
    func testNonUTF8BytesPassUnchanged() throws {
        let o = try Harness.run(
            "/bin/sh", ["-c", "'\(binary)' \"$(printf 'a\\377b')\" | od -An -tx1 | tr -d ' \\n'"],
            env: ["PROBE_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("5b61ff625d"), "arg[a\\xffb] expected in \(o.stdout)")  // "[a\xffb]"
    }

    func testEnvironmentVariablesAreSet() throws {
        let o = try launch(env: ["PROBE_LAUNCHER_ENTRY": "probe"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_EXE=\(binary)\n"), o.stdout)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_VERSION=2.3.4\n"))
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_ENTRY=probe\n"))
        XCTAssertTrue(
            o.stdout.contains("PROBE_LAUNCHER_ENTRY=<unset>\n"), "the entry selector must not leak to the runtime")
        // The app-named variables are the app's own: the launcher neither sets nor reads them.
        for name in ["PROBE_BUNDLE_EXE", "PROBE_BUNDLE_VERSION", "PROBE_BUNDLE_ENTRY"] {
            XCTAssertTrue(o.stdout.contains("\(name)=<unset>\n"), o.stdout)
        }
        let theirs = try launch(env: ["PROBE_ENTRY": "script", "PROBE_CACHE_DIR": "relative/theirs"])
        XCTAssertEqual(theirs.status, 0, theirs.stderr)
        XCTAssertTrue(theirs.stdout.contains("PROBE_ENTRY=script\n"), "passed on to the app: \(theirs.stdout)")
        XCTAssertEqual(theirs.stderr, "", "the app's own variables are not the launcher's business")
        XCTAssertTrue(o.stdout.contains("PROBE_HOME=\(cache)/layers/"), o.stdout)
    }

    func testExitStatusPassesThrough() throws {
        for code in [0, 1, 42, 124, 125, 255] {
            let o = try launch(env: ["PROBE_EXIT": String(code)])
            XCTAssertEqual(o.status, Int32(code))
            XCTAssertEqual(o.reason, .exit)
        }
    }

    /// The runtime writes to the caller's stdout and stderr directly (no pipe in between).
    func testStdoutAndStderrAreTheRuntimes() throws {
        let o = try launch(["a"], env: ["PROBE_LAUNCHER_ENTRY": "script"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "script: 1 args: a\n")
        XCTAssertEqual(o.stderr, "to stderr\n")
    }

    func testDeathBySignalPassesThrough() throws {
        let o = try launch(env: ["PROBE_SIGNAL": String(SIGTERM)])
        XCTAssertEqual(o.reason, .uncaughtSignal)
        XCTAssertEqual(o.status, SIGTERM)
    }

    func testNoParentStaysBehindPIDIsTheRuntimes() throws {
        let o = try launch()
        XCTAssertTrue(
            o.stdout.contains("pid=\(o.pid)\n"), "runtime pid should equal the launched pid \(o.pid): \(o.stdout)")
    }

    func testSecondRunExtractsNothing() throws {
        XCTAssertEqual(try launch().status, 0)
        let layers = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")
        XCTAssertEqual(layers.count, 1, "only the entry's layer is extracted: \(layers)")
        let marker = cache + "/layers/" + layers[0] + "/" + PathRules.markerName
        let before = try FileManager.default.attributesOfItem(atPath: marker)
        // Second run as an unprivileged user on a cache it can read but not write
        // (root ignores permissions, so dropping privileges is what makes this prove anything).
        XCTAssertEqual(try Harness.run("/bin/chmod", ["-R", "a+rX,a-w", dir]).status, 0)
        defer { _ = try? Harness.run("/bin/chmod", ["-R", "u+w", dir]) }
        let o = try Harness.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary],
            env: ["PROBE_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 0, o.stderr)
        let after = try FileManager.default.attributesOfItem(atPath: marker)
        XCTAssertEqual(before[.systemFileNumber] as? Int, after[.systemFileNumber] as? Int)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache + "/tmp"), [])
    }

    func testEntryChosenByVariableAndBySymlinkName() throws {
        var o = try launch(["x"], env: ["PROBE_LAUNCHER_ENTRY": "script"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "script: 1 args: x\n")
        try FileManager.default.createSymbolicLink(atPath: dir + "/script", withDestinationPath: binary)
        o = try launch(["y", "z"], program: dir + "/script")
        XCTAssertEqual(o.stdout, "script: 2 args: y z\n", o.stderr)
        o = try launch(env: ["PROBE_LAUNCHER_ENTRY": "nope"])
        XCTAssertEqual(o.status, 125)
        XCTAssertTrue(o.stderr.contains("PROBE_LAUNCHER_ENTRY=nope names no entry"), o.stderr)
        XCTAssertEqual(o.stderr.split(separator: "\n").count, 1)
    }

    func testLauncherInfoAndHelp() throws {
        var o = try launch(["--launcher", "info"])
        XCTAssertEqual(o.status, 0, o.stderr)
        for needle in [
            "probe", "2.3.4", "bundle digest:", "native", "scripts", "zstd", "xz", cache, "signed:         yes",
        ] {
            XCTAssertTrue(o.stdout.contains(needle), "info lacks \(needle):\n\(o.stdout)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/layers"), "info must not extract")
        o = try launch(["--launcher", "help"])
        XCTAssertEqual(o.status, 0)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_CACHE_DIR"))
        o = try launch(["--launcher", "bogus"])
        XCTAssertEqual(o.status, 125)
        o = try launch(["--launcher", "info", "--json"])
        var json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["version"] as? String, "2.3.4")
        XCTAssertEqual(json?["signed"] as? Bool, true)
        XCTAssertEqual(json?["formatVersion"] as? Int, Int(Trailer.currentVersion))
        XCTAssertEqual((json?["bundleDigest"] as? String)?.count, 64)
        XCTAssertGreaterThan(json?["buildTime"] as? Int ?? 0, 1_600_000_000)
        // The key id is the signing key's, as minisign prints it (the public key file's comment).
        let pub = try String(contentsOfFile: dir + "/key.pub", encoding: .utf8)
        let keyID = try XCTUnwrap(json?["keyId"] as? String)
        XCTAssertTrue(pub.contains(keyID), "key id \(keyID) not in \(pub)")
        func extracted(_ j: [String: Any]?) -> [String: Bool] {
            Dictionary(
                uniqueKeysWithValues: (j?["layers"] as? [[String: Any]] ?? []).map {
                    ($0["name"] as? String ?? "", $0["extracted"] as? Bool ?? false)
                })
        }
        // The generated SBOM's layer is listed, and no run extracts it.
        XCTAssertEqual(extracted(json), ["native": false, "scripts": false, "bundle-metadata": false])
        // Format version 3: each layer's frames digest (64 hex digits) and frame count; no data digest.
        for layer in json?["layers"] as? [[String: Any]] ?? [] {
            XCTAssertEqual((layer["framesDigest"] as? String)?.count, 64, "\(layer)")
            XCTAssertGreaterThanOrEqual(layer["frames"] as? Int ?? 0, 1, "\(layer)")
            XCTAssertNil(layer["dataDigest"], "\(layer)")
        }
        XCTAssertEqual((json?["layers"] as? [[String: Any]])?.count, 3)
        XCTAssertEqual(try launch().status, 0)  // the default entry needs `native` only
        json =
            try JSONSerialization.jsonObject(with: Data(try launch(["--launcher", "info", "--json"]).stdout.utf8))
            as? [String: Any]
        XCTAssertEqual(extracted(json), ["native": true, "scripts": false, "bundle-metadata": false])
        o = try launch(["--launcher", "info"])
        XCTAssertTrue(
            o.stdout.contains("format version: \(Trailer.currentVersion)")
                && o.stdout.contains("key id:         \(keyID)"), o.stdout)
    }

    func testCacheRootFallsBackToXDGAndHome() throws {
        let xdg = dir + "/xdg"
        var o = try Harness.run(binary, ["--launcher", "cache", "path"], env: ["XDG_CACHE_HOME": xdg])
        XCTAssertEqual(o.stdout, xdg + "/probe-launcher\n")
        o = try Harness.run(binary, [], env: ["HOME": dir + "/home"])
        XCTAssertEqual(o.status, 0, o.stderr)
        var st = stat()
        XCTAssertEqual(stat(dir + "/home/.cache/probe-launcher", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        XCTAssertNotEqual(stat(dir + "/home/.cache/probe", &st), 0, "~/.cache/probe is the app's")
    }

    /// A cache variable the launcher cannot use (relative, or empty) costs one line on stderr
    /// naming it, and the launch goes on with the default location.
    func testUnusableCacheVariableFallsBackToTheDefault() throws {
        let home = dir + "/home"
        for value in ["relative/path", "./cache", "~/cache"] {
            let o = try Harness.run(
                binary, ["x"], env: ["PROBE_LAUNCHER_CACHE_DIR": value, "HOME": home], cwd: dir)
            XCTAssertEqual(o.status, 0, o.stderr)
            XCTAssertTrue(o.stdout.contains("arg[x]"), o.stdout)
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
            XCTAssertTrue(
                o.stderr.contains("PROBE_LAUNCHER_CACHE_DIR") && o.stderr.contains("not an absolute path")
                    && o.stderr.contains(home + "/.cache/probe-launcher"), o.stderr)
            XCTAssertTrue(o.stdout.contains("PROBE_HOME=\(home)/.cache/probe-launcher/layers/"), o.stdout)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/relative"), "nothing made relative to cwd")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/cache"), "nothing made relative to cwd")
        }
        // The launcher's own commands go on too, and say where the cache is.
        let path = try Harness.run(
            binary, ["--launcher", "cache", "path"], env: ["PROBE_LAUNCHER_CACHE_DIR": "rel", "HOME": home])
        XCTAssertEqual(path.status, 0, path.stderr)
        XCTAssertEqual(path.stdout, home + "/.cache/probe-launcher\n")
        XCTAssertTrue(path.stderr.contains("PROBE_LAUNCHER_CACHE_DIR"), path.stderr)
        // An absolute path with `..` (which the walk refuses) is set aside the same way, before anything on
        // the way is made (review of issue 28; CI of issue 28 for `--launcher info`).
        for args in [["x"], ["--launcher", "info", "--json"]] {
            let up = try Harness.run(
                binary, args, env: ["PROBE_LAUNCHER_CACHE_DIR": dir + "/new/../c", "HOME": home])
            XCTAssertEqual(up.status, 0, up.stderr)
            XCTAssertEqual(
                up.stderr,
                "probe-bin: PROBE_LAUNCHER_CACHE_DIR='\(dir)/new/../c' contains '..', so it is ignored: the cache is in \(home)/.cache/probe-launcher\n"
            )
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/new"), "nothing made on the way")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/c"), "nothing made where it points")
        }
    }

    /// The runtime gets the terminal itself: run under a pseudo-terminal (`script`), the program
    /// sees a tty on stdin and stdout, exactly as when run directly.
    func testTerminalIsTheRuntimes() throws {
        try Harness.write(
            "#!/bin/sh\n[ -t 0 ] && echo stdin-tty; [ -t 1 ] && echo stdout-tty; [ -t 2 ] && echo stderr-tty\n",
            to: dir + "/scripts/tty.sh", mode: 0o755)
        try Harness.write(
            "[bundle]\nname = \"tty\"\nversion = \"1\"\n[layers.s]\npath = \"scripts\"\n[entries.tty]\nexec = [\"/bin/sh\", \"{s}/tty.sh\"]\n",
            to: dir + "/tty.toml")
        try Harness.tool([
            "build", dir + "/tty.toml", "-o", dir + "/ttybin", "--key", dir + "/key.key", "--stub", Harness.stub, "-q",
        ])
        let o = try Harness.run(
            "/usr/bin/script", ["-qec", dir + "/ttybin", "/dev/null"], env: ["TTY_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(
            o.stdout.contains("stdin-tty") && o.stdout.contains("stdout-tty") && o.stdout.contains("stderr-tty"),
            o.stdout)
    }

    /// A layer stored with the x86 branch filter (`filter = "x86"`) runs, verifies and extracts
    /// byte for byte: the static probe, the launcher itself (megabytes of x86-64 code, so the
    /// launcher's staging buffer refills many times), an empty file and a file ending in E8.
    func testX86FilteredLayerRunsAndExtractsExactly() throws {
        let code = dir + "/code"
        try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try Harness.probeBinary(), toPath: code + "/probe")
        try FileManager.default.copyItem(atPath: Harness.stub, toPath: code + "/big-elf")
        try Harness.writeBytes([], to: code + "/empty")
        try Harness.writeBytes([0x90, 0xE8, 0x00, 0x00], to: code + "/tail-e8")
        try Harness.write(
            "[bundle]\nname = \"filt\"\nversion = \"1\"\n[layers.code]\npath = \"code\"\nfilter = \"x86\"\n"
                + "[entries.probe]\nexec = [\"{code}/probe\"]\n", to: dir + "/filt.toml")
        let bin = dir + "/filt-bin"
        let built = try Harness.tool([
            "build", dir + "/filt.toml", "-o", bin, "--key", dir + "/key.key", "--stub", Harness.stub,
        ])
        XCTAssertTrue(built.stdout.contains("zstd+x86"), built.stdout)
        let o = try Harness.run(bin, ["x y"], env: ["FILT_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("arg[x y]"), o.stdout)
        XCTAssertTrue(try Harness.tool(["inspect", bin]).stdout.contains("zstd+x86"))
        try Harness.tool(["verify", bin, "--pubkey", dir + "/key.pub"])
        let info = try Harness.run(bin, ["--launcher", "info", "--json"], env: ["FILT_LAUNCHER_CACHE_DIR": cache])
        XCTAssertTrue(info.stdout.contains("\"filter\":\"x86\""), info.stdout)
        try Harness.tool(["extract", bin, dir + "/out"])
        let layerDir = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: cache + "/layers").first)
        for name in ["probe", "big-elf", "empty", "tail-e8"] {
            let original = try Harness.bytes(code + "/" + name)
            XCTAssertTrue(try Harness.bytes(dir + "/out/code/" + name) == original, "extract: \(name) differs")
            XCTAssertTrue(
                try Harness.bytes(cache + "/layers/" + layerDir + "/" + name) == original, "cache: \(name) differs")
        }
        // The stored stream really is transformed: the same tree without the filter differs in size.
        try Harness.write(
            "[bundle]\nname = \"filt\"\nversion = \"1\"\n[layers.code]\npath = \"code\"\n"
                + "[entries.probe]\nexec = [\"{code}/probe\"]\n", to: dir + "/plain.toml")
        try Harness.tool([
            "build", dir + "/plain.toml", "-o", dir + "/plain-bin", "--key", dir + "/key.key", "--stub", Harness.stub,
            "-q",
        ])
        let filteredSize = try FileManager.default.attributesOfItem(atPath: bin)[.size] as! Int
        let plainSize = try FileManager.default.attributesOfItem(atPath: dir + "/plain-bin")[.size] as! Int
        XCTAssertLessThan(filteredSize, plainSize, "the x86 filter should make machine code smaller")
    }

    /// The launcher undoes the filter through a 256 KiB staging buffer; with codec `none` its
    /// refills are deterministic, so these layers put a call whose operand is cut by the first
    /// refill at each of the four possible places (1-4 operand bytes missing).
    func testX86FilterOperandsCutByTheLaunchersBuffer() throws {
        var toml =
            "[bundle]\nname = \"cut\"\nversion = \"1\"\n[entries.all]\nexec = [\"/bin/true\"]\nlayers = [\"c1\", \"c2\", \"c3\", \"c4\"]\n"
        var originals: [String: [UInt8]] = [:]
        for k in 1...4 {
            var bytes = [UInt8](repeating: 0x5A, count: 600_000)
            let at = (256 << 10) - k  // the opcode; its operand crosses the refill
            bytes[at] = 0xE8
            bytes[at + 1...at + 4] = [0x10, 0, 0, 0]  // +16: in range, so the stored bytes differ
            try FileManager.default.createDirectory(atPath: dir + "/c\(k)", withIntermediateDirectories: true)
            try Harness.writeBytes(bytes, to: dir + "/c\(k)/blob")
            originals["c\(k)"] = bytes
            toml += "[layers.c\(k)]\npath = \"c\(k)\"\ncompression = \"none\"\nfilter = \"x86\"\n"
        }
        try Harness.write(toml, to: dir + "/cut.toml")
        let bin = dir + "/cut-bin"
        try Harness.tool([
            "build", dir + "/cut.toml", "-o", bin, "--key", dir + "/key.key", "--stub", Harness.stub, "-q",
        ])
        let stored = try Harness.bytes(bin)
        let call = originals["c1"]![((256 << 10) - 17)..<((256 << 10) + 20)]  // filler, the call, filler
        XCTAssertNil(stored.firstRange(of: call), "the operand is stored transformed")
        let o = try Harness.run(bin, [], env: ["CUT_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 0, o.stderr)
        let layers = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")
        XCTAssertEqual(layers.count, 4)
        for l in layers {
            let got = try Harness.bytes(cache + "/layers/" + l + "/blob")
            XCTAssertTrue(originals.values.contains(got), "layer \(l) differs from its source")
        }
        try Harness.tool(["verify", bin, "--pubkey", dir + "/key.pub"])
    }

    func testStubIsStaticallyLinked() throws {
        let o = try Harness.run("/usr/bin/file", ["-L", Harness.stub])
        XCTAssertTrue(o.stdout.contains("statically linked"), o.stdout)
    }

    func testUnpatchedStubRunsNothing() throws {
        let o = try Harness.run(Harness.stub, [])
        // The empty key slot is checked before the file is read, so this is the one message.
        XCTAssertEqual(o.status, 125)
        XCTAssertEqual(o.stdout, "")
        XCTAssertTrue(
            o.stderr.hasSuffix("this launcher holds no public key: it must be turned into a bundle by bundle-append\n"),
            o.stderr)
        XCTAssertEqual(o.stderr.split(separator: "\n").count, 1, o.stderr)
    }
}
