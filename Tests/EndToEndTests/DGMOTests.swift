import Foundation
import XCTest

/// The real DGMO binary (Bun CLI, PyInstaller engine, Go components) built by `dgmo-build`.
/// `make test` builds it first (a dev build with the debug stub) and passes its path in
/// `DGMO_TEST_BINARY`; `make dgmo` builds the release one. DGMOArm64Tests runs these tests again
/// against the linux-arm64 binary under qemu (it overrides `binary` and `stageWork`).
class DGMOTests: XCTestCase {
    static let work = Harness.packageRoot.appendingPathComponent(".build-dgmo").path
    static let x64Binary = ProcessInfo.processInfo.environment["DGMO_TEST_BINARY"] ?? work + "/test/dgmo-linux-x64"
    /// The DGMO binary under test.
    class var binary: String { x64Binary }
    /// Where dgmo-build left the binary's stage and dgmo.toml (a target other than linux-x64 has its own).
    class var stageWork: String { work }
    /// What `bundle-append build` needs besides the toml to rebuild the binary's bundle (its target and stub).
    class var buildTargetArgs: [String] { [] }
    /// What `sysinfo` reports as `os` (Go's GOOS of the target).
    class var expectedOS: String { "linux" }
    /// The name a running file-watcher has in `/proc/PID/comm` (wine shows Windows programs by file name).
    class var watcherProcessName: String { "file-watcher" }
    /// The SBOM component of the Go tools (windows-x64 ships them as one multi-call program).
    class var goSBOMComponent: String { "dgmo-system-info" }
    /// A command that exits 3, for `supervise`.
    class var failingCommand: [String] { ["/bin/sh", "-c", "exit 3"] }
    /// The binary's file name when installed (update replaces it).
    class var installedName: String { "dgmo" }

    /// What runs a DGMO binary with ARGS: itself here; DGMOWindowsTests runs it under wine (the
    /// program is wine, the binary its first argument, and wine's variables are added).
    class func invocation(_ program: String, _ args: [String]) throws -> (
        program: String, args: [String], env: [String: String]
    ) {
        (program, args, [:])
    }

    /// Runs a DGMO binary (through `invocation`).
    class func launch(
        _ program: String, _ args: [String], env: [String: String], cwd: String?, timeout: TimeInterval
    ) throws -> Harness.Output {
        let run = try invocation(program, args)
        return try Harness.run(
            run.program, run.args, env: run.env.merging(env) { _, given in given }, cwd: cwd, timeout: timeout)
    }

    /// A path as the binary is given it (under wine: `Z:\...`).
    class func nativePath(_ path: String) -> String { path }
    static let version: String = {
        let json =
            try? JSONSerialization.jsonObject(
                with: Data(contentsOf: Harness.packageRoot.appendingPathComponent("examples/dgmo/package.json")))
            as? [String: Any]
        return json?["version"] as? String ?? "?"
    }()

    var dir = ""
    var cache: String { dir + "/cache" }

    override func setUpWithError() throws {
        try Harness.requireDGMOBinary()
        dir = try Harness.makeTempDir()
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    @discardableResult
    func dgmo(
        _ args: [String], env: [String: String] = [:], cwd: String? = nil, program: String? = nil,
        timeout: TimeInterval = 120
    ) throws -> Harness.Output {
        var e = ["DGMO_CACHE_DIR": Self.nativePath(cache)]
        for (k, v) in env { e[k] = v }
        return try Self.launch(program ?? Self.binary, args, env: e, cwd: cwd, timeout: timeout)
    }

    /// The binary under test prints what the linux-x64 binary prints for two `evolve` runs (the
    /// same seed gives the same scores, to the last digit): DGMOArm64Tests and DGMOWindowsTests.
    func assertEvolvePrintsWhatX64Prints(_ target: String) throws {
        try Harness.requireDGMOBinary()
        for args in [
            ["evolve", "--seed", "7", "--generations", "10", "--json"],
            ["evolve", "--seed", "1", "--generations", "3"],
        ] {
            let other = try dgmo(args)
            XCTAssertEqual(other.status, 0, other.stderr)
            let x64 = try dgmo(args, env: ["DGMO_CACHE_DIR": dir + "/cache-x64"], program: Self.x64Binary)
            XCTAssertEqual(x64.status, 0, x64.stderr)
            XCTAssertFalse(other.stdout.isEmpty)
            XCTAssertEqual(other.stdout, x64.stdout, "\(target) and linux-x64 print the same for \(args)")
        }
    }

    func extractedLayers() throws -> Set<String> {
        let o = try dgmo(["--launcher", "info", "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        let layers = json?["layers"] as? [[String: Any]] ?? []
        return Set(layers.filter { $0["extracted"] as? Bool == true }.compactMap { $0["name"] as? String })
    }

    func testVersionHelpAndEveryCommandsHelp() throws {
        var o = try dgmo(["--version"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "DGMO v\(Self.version)\n")
        o = try dgmo(["help"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let commands = ["evolve", "help", "init", "plugins", "supervise", "sysinfo", "update", "watch"]
        for c in commands { XCTAssertTrue(o.stdout.contains("\n  \(c) "), "help lists \(c): \(o.stdout)") }
        XCTAssertEqual(try dgmo(["--help"]).stdout, o.stdout)
        for c in commands {
            let h = try dgmo([c, "--help"])
            XCTAssertEqual(h.status, 0, "\(c) --help: \(h.stderr)")
            XCTAssertTrue(h.stdout.hasPrefix("usage: dgmo \(c)"), "\(c) --help: \(h.stdout)")
            XCTAssertEqual(h.stderr, "", c)
        }
        o = try dgmo(["frobnicate"])
        XCTAssertEqual(o.status, 2)
        XCTAssertEqual(o.stderr, "dgmo: unknown command frobnicate (see dgmo help)\n")
        o = try dgmo(["evolve", "--sed", "1"])
        XCTAssertEqual(o.status, 2)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
    }

    func testSbomIsPrintedFromTheBinaryWithoutExtracting() throws {
        let o = try dgmo(["--launcher", "sbom"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let sbom = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(sbom?["bomFormat"] as? String, "CycloneDX")
        XCTAssertEqual(sbom?["specVersion"] as? String, "1.5")
        let components = sbom?["components"] as? [[String: Any]] ?? []
        let byName = Dictionary(components.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for name in ["bun", "cpython", "go", "pydantic", "pydantic-core", Self.goSBOMComponent] {
            XCTAssertNotNil(byName[name], "SBOM lists \(name)")
            XCTAssertFalse((byName[name]?["version"] as? String ?? "").isEmpty, name)
        }
        for name in ["bun", "cpython", "go", "pydantic", "pydantic-core", Self.goSBOMComponent] {
            let digest = (byName[name]?["hashes"] as? [[String: String]])?.first?["content"]
            XCTAssertEqual(digest?.count, 64, "SBOM gives \(name) a SHA-256")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/layers"), "printing the SBOM extracts nothing")
        if let shipped = try? String(contentsOfFile: Self.binary + ".cdx.json", encoding: .utf8) {
            XCTAssertEqual(shipped, o.stdout, "the SBOM shipped beside the binary is the one inside it")
        }
    }

    func testCorePluginIsLoadedAtStart() throws {
        let o = try dgmo(["plugins", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let list = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(list?.compactMap { $0["name"] as? String }, ["core"])
    }

    func testSysinfoRunsGoWithoutExtractingPython() throws {
        let o = try dgmo(["sysinfo"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let info = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(info?["os"] as? String, Self.expectedOS)
        XCTAssertEqual(info?["dgmo_version"] as? String, Self.version)
        XCTAssertGreaterThan(info?["cpus"] as? Int ?? 0, 0)
        XCTAssertEqual(info?["cpus"] as? Int, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertTrue((info?["go_version"] as? String ?? "").hasPrefix("go1."), o.stdout)
        XCTAssertEqual(try extractedLayers(), ["app", "bun", "native"], "sysinfo must not extract the Python layer")
    }

    func testEvolveIsDeterministicForASeed() throws {
        XCTAssertEqual(try extractedLayers(), [])
        let a = try dgmo(["evolve", "--seed", "1", "--generations", "3"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let lines = a.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, a.stdout)
        for (i, l) in lines.enumerated() {
            XCTAssertTrue(l.hasPrefix("generation \(i + 1): best score -"), String(l))
        }
        XCTAssertEqual(try extractedLayers(), ["app", "bun", "python"], "evolve needs the CLI and the engine, not Go")
        XCTAssertEqual(
            try dgmo(["evolve", "--seed", "1", "--generations", "3"]).stdout, a.stdout, "same seed, same run")
        let b = try dgmo(["evolve", "--seed", "2", "--generations", "3"])
        XCTAssertNotEqual(b.stdout, a.stdout)
        // Scores never get worse (the best candidates are kept from one generation to the next).
        let json = try dgmo(["evolve", "--seed", "7", "--generations", "20", "--json"])
        let scores = json.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["best_score"] as? Double
        }
        XCTAssertEqual(scores.count, 20)
        XCTAssertEqual(scores, scores.sorted(), "elitism keeps the best score monotonic")
        let bad = try dgmo(["evolve", "--generations", "0"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--generations"), bad.stderr)
    }

    /// `dgmo evolve | head -n 1`: the engine finds its reader gone (EPIPE on Linux, EINVAL on
    /// Windows) and stops quietly with 141, as Unix tools do: no traceback.
    func testEvolveIntoAClosedPipeStopsQuietly() throws {
        let run = try Self.invocation(Self.binary, ["evolve", "--seed", "1", "--generations", "2000"])
        var env = run.env
        env["DGMO_CACHE_DIR"] = Self.nativePath(cache)
        let o = try Harness.run(
            "/bin/bash",
            ["-c", "\"$@\" | head -n 1; echo \"status ${PIPESTATUS[0]}\"", "pipe", run.program] + run.args,
            env: env, timeout: 300)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.hasPrefix("generation 1: best score"), o.stdout)
        XCTAssertTrue(o.stdout.hasSuffix("status 141\n"), o.stdout)
        XCTAssertEqual(o.stderr, "", "no traceback, no message")
    }

    func testInitWritesConfigAndRefusesToOverwrite() throws {
        let project = dir + "/my-project"
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        var o = try dgmo(["init"], cwd: project)
        XCTAssertEqual(o.status, 0, o.stderr)
        let config = project + "/dgmo.config.json"
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any]
        XCTAssertEqual(json?["name"] as? String, "my-project")
        try Harness.write("{\"mine\": true}\n", to: config)
        o = try dgmo(["init", "--name", "other"], cwd: project)
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(o.stderr.contains("already exists") && o.stderr.contains("--force"), o.stderr)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), "{\"mine\": true}\n", "nothing overwritten")
        o = try dgmo(["init", "--name", "other", "--force"], cwd: project)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(try String(contentsOfFile: config, encoding: .utf8).contains("\"other\""))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: project), ["dgmo.config.json"],
            "no temporary files left")
    }

    /// Whether a process whose name (`/proc/PID/comm`) is `name` runs now.
    static func processRuns(named name: String) -> Bool {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.contains { pid in
            guard pid.allSatisfy(\.isNumber) else { return false }
            let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }

    func testWatchAndSuperviseUseTheGoComponents() throws {
        let watched = dir + "/watched"
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: true)
        _ = try dgmo(["--version"])  // extract first, so the watcher starts quickly
        // The watcher reports changes against its first scan, so the file must appear after it. A
        // fixed delay lost that race under qemu (the arm64 Go tool starting late, once in two CI
        // runs): wait until a file-watcher process runs, then give it a second for its first scan.
        DispatchQueue.global().async {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && !Self.processRuns(named: Self.watcherProcessName) { usleep(20_000) }
            usleep(1_000_000)
            try? Harness.write("hello\n", to: watched + "/new.txt")
        }
        let w = try dgmo(
            ["watch", "--interval", "100ms", "--count", "1", "--timeout", "20s", Self.nativePath(watched)], timeout: 60)
        XCTAssertEqual(w.status, 0, w.stderr)
        // JSON escapes a Windows path's backslashes.
        let created = Self.nativePath(watched + "/new.txt").replacingOccurrences(of: "\\", with: "\\\\")
        XCTAssertEqual(w.stdout, "{\"event\":\"created\",\"path\":\"\(created)\"}\n")
        let s = try dgmo(["supervise", "--restarts", "2", "--delay", "10ms", "--"] + Self.failingCommand)
        XCTAssertEqual(s.status, 3)
        XCTAssertEqual(s.stderr.components(separatedBy: "\"event\":\"started\"").count - 1, 3, s.stderr)
    }

    /// Builds another bundle from the same stage with a different version, signed by `key`.
    func makeRelease(version: String, key: String, name: String) throws -> String {
        var toml = try String(contentsOfFile: Self.stageWork + "/dgmo.toml", encoding: .utf8)
        toml = toml.replacingOccurrences(of: "version = \"\(Self.version)\"", with: "version = \"\(version)\"")
        toml = toml.replacingOccurrences(of: "path = \"stage/", with: "path = \"\(Self.stageWork)/stage/")
        try Harness.write(toml, to: dir + "/\(name).toml")
        let out = dir + "/" + name
        try Harness.tool(
            ["build", dir + "/\(name).toml", "-o", out, "--key", key, "--compression", "zstd", "--level", "1"]
                + Self.buildTargetArgs)
        try Harness.tool(["sign", out, "--key", key])
        return out
    }

    func testUpdateInstallsOnlyVerifiedNewerReleases() throws {
        let devKey = Self.work + "/dev-signing.key"
        let installed = dir + "/" + Self.installedName
        XCTAssertEqual(try Harness.run("/bin/cp", [Self.binary, installed]).status, 0)
        let newer = try makeRelease(version: "99.0.0", key: devKey, name: "newer")
        let older = try makeRelease(version: "0.0.1", key: devKey, name: "older")
        try Harness.tool(["keygen", dir + "/mallory"])
        let foreign = try makeRelease(version: "100.0.0", key: dir + "/mallory.key", name: "foreign")

        var o = try dgmo(["update", Self.nativePath(newer)], program: installed)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("update available: \(Self.version) -> 99.0.0"), o.stdout)

        o = try dgmo(["update", Self.nativePath(older), "--apply"], program: installed)
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(o.stderr.contains("0.0.1 is not newer than \(Self.version)"), o.stderr)

        o = try dgmo(["update", Self.nativePath(foreign), "--apply"], program: installed)
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(o.stderr.contains("not by the trusted key"), o.stderr)

        // A stub byte changed after signing: the bundle's own signature does not cover the stub,
        // the whole-file signature does.
        let tampered = dir + "/tampered"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newer))
        bytes[4096] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: tampered))
        try FileManager.default.copyItem(atPath: newer + ".minisig", toPath: tampered + ".minisig")
        o = try dgmo(["update", Self.nativePath(tampered), "--apply"], program: installed)
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(o.stderr.contains("signature verification failed"), o.stderr)

        try FileManager.default.removeItem(atPath: newer + ".minisig")
        o = try dgmo(["update", Self.nativePath(newer), "--apply"], program: installed)
        XCTAssertEqual(o.status, 1)
        XCTAssertTrue(o.stderr.contains("no signature"), o.stderr)
        XCTAssertEqual(
            try dgmo(["--version"], program: installed).stdout, "DGMO v\(Self.version)\n", "nothing was installed")

        try Harness.tool(["sign", newer, "--key", devKey])
        o = try dgmo(["update", Self.nativePath(newer), "--apply"], program: installed)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(try dgmo(["--version"], program: installed).stdout, "DGMO v99.0.0\n")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".update-") }, [],
            "no staged copy left")
    }

    /// dgmo-build checks every locked input before it runs anything.
    func testBuildRefusesUnlockedInputs() throws {
        let src = dir + "/src"
        let example = Harness.packageRoot.appendingPathComponent("examples/dgmo").path
        XCTAssertEqual(try Harness.run("/bin/cp", ["-r", example, src]).status, 0)
        try? FileManager.default.removeItem(atPath: src + "/node_modules")
        func build() throws -> Harness.Output {
            try Harness.run(
                Harness.binDir + "/dgmo-build", ["--source", src, "--work", dir + "/work", "-o", dir + "/out"], cwd: dir
            )
        }
        func edit(_ file: String, _ transform: (String) -> String) throws {
            let path = src + "/" + file
            try transform(try String(contentsOfFile: path, encoding: .utf8)).write(
                toFile: path, atomically: true, encoding: .utf8)
        }
        let cases: [(String, (String) -> String, String)] = [
            (
                "engine/requirements.lock",
                {
                    $0.replacingOccurrences(
                        of: " \\\n    --hash=sha256:653a2ad9f6d8858529c77c72717d0ea991d6c6837fe683246b2f4b2bbfc3fadc",
                        with: "")
                }, "pydantic==2.14.4 has no --hash=sha256: pin"
            ),
            ("engine/requirements.lock", { $0 + "requests>=2\n" }, "is not pinned as name==version"),
            (
                "package.json",
                {
                    $0.replacingOccurrences(
                        of: "\"dependencies\": {", with: "\"dependencies\": {\"left-pad\": \"^1.3.0\",")
                }, "only workspace: packages"
            ),
            (
                "engine/dgm/__init__.py",
                { $0.replacingOccurrences(of: "__version__ = \"", with: "__version__ = \"9") }, "version mismatch"
            ),
            ("native/go.mod", { $0 + "require example.com/x v1.0.0\n" }, "no go.sum"),
        ]
        for (file, transform, expected) in cases {
            let original = try String(contentsOfFile: src + "/" + file, encoding: .utf8)
            try edit(file, transform)
            let o = try build()
            XCTAssertEqual(o.status, 1, "\(file): \(o.stderr)")
            XCTAssertTrue(o.stderr.contains(expected), "\(file): expected '\(expected)' in: \(o.stderr)")
            try original.write(toFile: src + "/" + file, atomically: true, encoding: .utf8)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), "nothing was built")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir + "/work/toolchain"), "the checks come before any install")
    }

    func testCleanMachineChroot() throws {
        guard getuid() == 0 else { throw XCTSkip("the clean-machine test needs root (chroot, mount)") }
        let script = Harness.packageRoot.appendingPathComponent("scripts/clean-machine-test.sh").path
        let o = try Harness.run("/bin/bash", [script, Self.binary], timeout: 300)
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("$ dgmo --version\nDGMO v\(Self.version)\n"), o.stdout)
        XCTAssertTrue(o.stdout.contains("generation 3: best score"), o.stdout)
        XCTAssertTrue(o.stdout.contains("\"go_version\":\"go1."), o.stdout)
    }
}
