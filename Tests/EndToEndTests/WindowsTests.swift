import Foundation
import XCTest
@testable import BundleBuilder
import BundleCrypto
import BundleFormat
import TestSupport

/// The windows-x64 launcher under wine 10 (docs/platforms.md): bundles built with
/// `bundle-append build --target windows-x64` around the debug PE stub
/// (`<debug bin dir>/stubs/windows-x64/bundle-stub.exe`, `make stubs-windows`; `DGMO_TEST_WINDOWS_STUB`
/// overrides it) and Windows C programs built with the pinned zig (`zig cc -target x86_64-windows-gnu`):
/// examples/hello/hello.c and Tests/Fixtures/windows-probe.c.
///
/// wine comes from scripts/lib/wine-toolchain.sh (`make wine`; `make test` runs it), or from `WINE`
/// and `WINESERVER` when set. The class makes one wine prefix of its own (making one takes 10-30 s)
/// and stops its wineserver in the class tear-down. Every bundle runs as `$WINE bundle.exe ARGS`
/// with a timeout, its cache named by a Windows path: wine's drive Z: is the Linux root, so the
/// Linux directory /tmp/x is `Z:\tmp\x` for the launcher, and the tests look at the cache from the
/// Linux side.
///
/// What wine changes on the way (each measured here, see the tests):
/// - wine converts the Linux argv and environment to UTF-16 with the Unix locale's charset: without
///   a UTF-8 locale (`LANG` unset, as in Harness.run) é arrives as two wrong characters. So every
///   wine run gets `LANG=C.UTF-8`.
/// - a Windows exit code reaches Linux as wine's unix exit status (`get_unix_exit_code` in wine's
///   ntdll: a nonzero code whose low byte is 0 becomes 1, then the kernel keeps the low byte), so
///   the whole 32-bit code is checked from the Windows side (`windows-probe.exe --spawn`).
final class WindowsTests: SignedAsGivenTestCase {
    static let stub =
        ProcessInfo.processInfo.environment["DGMO_TEST_WINDOWS_STUB"]
        ?? Harness.binDir + "/stubs/windows-x64/bundle-stub.exe"

    /// wine's programs and the class's prefix, or why there are none.
    struct Wine {
        var wine: String
        var wineserver: String
        var prefix: String

        /// What every wine run of the tests gets: the prefix, no debug output, no Mono or Gecko
        /// prompts, UTF-8 for non-ASCII arguments.
        var environment: [String: String] {
            [
                "WINEPREFIX": prefix, "WINESERVER": wineserver, "WINEDEBUG": "-all",
                "WINEDLLOVERRIDES": "mscoree,mshtml=", "LANG": "C.UTF-8",
            ]
        }

        /// Stops the prefix's wineserver and every wine process in it (a test that failed midway
        /// may have left one), then removes the prefix: each class's tear-down.
        func remove() {
            for flag in ["-k", "-w"] {
                _ = try? ProcessRunner.run(
                    wineserver, [flag], environment: ["WINEPREFIX": prefix, "PATH": "/usr/bin:/bin"], timeout: 60)
            }
            try? FileManager.default.removeItem(atPath: prefix)
        }
    }
    nonisolated(unsafe) static var wineSetup: Result<Wine, Harness.SetupError> = .failure(
        Harness.SetupError(description: "the class set-up did not run"))

    override class func setUp() {
        super.setUp()
        wineSetup = makePrefix()
    }

    override class func tearDown() {
        if case .success(let w) = wineSetup { w.remove() }
        wineSetup = .failure(Harness.SetupError(description: "the class tear-down ran"))
        super.tearDown()
    }

    /// The class's prefix, made by scripts/lib/wine-toolchain.sh: with `WINE` and `WINESERVER` from
    /// the environment when both are set (`wine_prefix`), else with the clone's installed wine
    /// (`wine_toolchain`, which only exports when its stamp matches; it does not download here:
    /// without a stamp the class fails and says how to install wine).
    static func makePrefix(name: String = "windows-tests") -> Result<Wine, Harness.SetupError> {
        let env = ProcessInfo.processInfo.environment
        let root = Harness.packageRoot.path
        let fromEnvironment = (env["WINE"] ?? "").isEmpty == false && (env["WINESERVER"] ?? "").isEmpty == false
        if !fromEnvironment && !FileManager.default.fileExists(atPath: root + "/.build-dgmo/wine/stamp") {
            return .failure(
                Harness.SetupError(
                    description:
                        "wine is not installed in \(root)/.build-dgmo/wine: run 'make wine' (scripts/lib/wine-toolchain.sh; make test does it), or set WINE and WINESERVER"
                ))
        }
        let prefix = NSTemporaryDirectory() + "wine-prefix-\(name)-" + String(getpid())
        try? FileManager.default.removeItem(atPath: prefix)
        var environment = ["PATH": env["PATH"] ?? "/usr/bin:/bin", "HOME": env["HOME"] ?? NSTemporaryDirectory()]
        if fromEnvironment {
            environment["WINE"] = env["WINE"]
            environment["WINESERVER"] = env["WINESERVER"]
        }
        let script = """
            set -e
            . scripts/lib/wine-toolchain.sh
            if [ -n "${WINE:-}" ]; then wine_prefix "$1"; else WINEPREFIX="$1" wine_toolchain; fi
            printf '%s\\n%s\\n' "$WINE" "$WINESERVER"
            """
        let o: ProcessOutput
        do {
            o = try ProcessRunner.run(
                "/bin/bash", ["-c", script, "wine-prefix", prefix], environment: environment, cwd: root, timeout: 600)
        } catch {
            return .failure(Harness.SetupError(description: "cannot run scripts/lib/wine-toolchain.sh: \(error)"))
        }
        let lines = o.stdout.split(separator: "\n").map(String.init)
        guard o.status == 0, lines.count == 2 else {
            return .failure(
                Harness.SetupError(
                    description:
                        "making a wine prefix with scripts/lib/wine-toolchain.sh failed: \(o.stdout) \(o.stderr)"
                ))
        }
        return .success(Wine(wine: lines[0], wineserver: lines[1], prefix: prefix))
    }

    /// Every test needs wine, its prefix and the Windows stub; fails (never skips) naming what is missing.
    func requireWineAndStub() throws {
        if case .failure(let e) = Self.wineSetup { try require(false, e.description) }
        try require(
            FileManager.default.fileExists(atPath: Self.stub),
            "no windows-x64 stub at \(Self.stub): build it with 'make stubs-windows' (scripts/build-stub.sh --target windows-x64 --debug; make test builds it) or set DGMO_TEST_WINDOWS_STUB"
        )
    }

    // MARK: Helpers

    /// `path` as the launcher sees it under wine: drive Z: is the Linux root.
    static func windowsPath(_ path: String) -> String { "Z:" + path.replacingOccurrences(of: "/", with: "\\") }
    func win(_ path: String) -> String { Self.windowsPath(path) }

    /// Runs a Windows program under the class's wine: `$WINE program args`, the environment
    /// Harness.run gives plus wine's and `env`, with a timeout (wine can hang).
    static func wine(
        _ program: String, _ args: [String] = [], env: [String: String] = [:], timeout: TimeInterval = 180
    ) throws -> Harness.Output {
        let w = try wineSetup.get()
        return try Harness.run(
            w.wine, [program] + args, env: w.environment.merging(env) { _, given in given }, timeout: timeout)
    }

    func wine(_ program: String, _ args: [String] = [], env: [String: String] = [:], timeout: TimeInterval = 180)
        throws -> Harness.Output
    {
        try Self.wine(program, args, env: env, timeout: timeout)
    }

    /// A `Process` running `$WINE program args` (for kills and runs that must overlap), not waited for.
    func startWine(_ program: String, _ args: [String], env: [String: String]) throws -> Process {
        let w = try Self.wineSetup.get()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: w.wine)
        p.arguments = [program] + args
        p.environment = w.environment.merging(
            ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory()].merging(env) { _, given in given }
        ) { _, given in given }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Starts `$WINE binary --sleep 60000` (the probe sleeps a minute in its payload, holding its
    /// layer) and waits until the payload has touched `touchFile`; the caller stops it.
    func startSleepingPayload(_ binary: String, env: [String: String], touchFile: String) throws -> Process {
        let holder = try startWine(
            binary, ["--sleep", "60000"], env: env.merging(["PROBE_TOUCH": win(touchFile)]) { a, _ in a })
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: touchFile) && holder.isRunning && Date() < deadline {
            usleep(50_000)
        }
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: touchFile) && holder.isRunning, "the sleeping payload runs")
        return holder
    }

    /// Windows output with `\r\n` line ends (a C program's stdout in text mode) read as Linux's.
    static func unix(_ s: String) -> String { s.replacingOccurrences(of: "\r\n", with: "\n") }

    /// The Windows C programs (hello, probe), built once per run with the pinned zig. zig keeps its
    /// cache under the caller's HOME (its first Windows build compiles mingw's C library: minutes).
    static let programs: Result<[String: String], Harness.SetupError> = {
        let out = NSTemporaryDirectory() + "windows-programs-" + String(getpid())
        try? FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var made: [String: String] = [:]
        for (name, source) in [("hello", "examples/hello/hello.c"), ("probe", "Tests/Fixtures/windows-probe.c")] {
            let script = """
                set -e
                . scripts/lib/zig-toolchain.sh
                zig_toolchain
                $ZIG_CC -target x86_64-windows-gnu -municode -O2 -o "$1" "$2"
                """
            let r = try? ProcessRunner.run(
                "/bin/bash", ["-c", script, "zig-cc", out + "/" + name + ".exe", source],
                environment: ProcessInfo.processInfo.environment, cwd: Harness.packageRoot.path, timeout: 1200)
            guard let r, r.status == 0 else {
                return .failure(
                    Harness.SetupError(
                        description:
                            "cannot build \(source) with zig cc -target x86_64-windows-gnu (scripts/lib/zig-toolchain.sh): \(r?.stderr ?? "did not start")"
                    ))
            }
            try? FileManager.default.removeItem(atPath: out + "/" + name + ".pdb")
            made[name] = out + "/" + name + ".exe"
        }
        return .success(made)
    }()

    func program(_ name: String) throws -> String { try XCTUnwrap(try Self.programs.get()[name]) }

    /// Writes the tree and spec under `dir/<subdir>` and builds a signed windows-x64 bundle
    /// `dir/<output>` (key `dir/k.key`).
    func build(spec: String, tree: [String: Harness.TreeFile], output: String = "bundle.exe", subdir: String = "src")
        throws -> String
    {
        let src = dir + "/" + subdir
        try Harness.writeTree(tree, in: src)
        try Harness.write(spec, to: src + "/spec.toml")
        if !FileManager.default.fileExists(atPath: dir + "/k.key") { try Harness.tool(["keygen", dir + "/k"]) }
        let binary = dir + "/" + output
        try Harness.tool([
            "build", src + "/spec.toml", "-o", binary, "--key", dir + "/k.key", "--target", "windows-x64", "--stub",
            Self.stub, "-q",
        ])
        return binary
    }

    static let probeSpec = """
        [bundle]
        name = "probe"
        version = "2.0.0"
        [layers.native]
        path = "native"
        [entries.probe]
        exec = ["{native}/probe.exe"]
        env = { PROBE_HOME = "{native}" }
        default = true
        """

    static let dataText = String(repeating: "some data to compress ", count: 2000)

    func probeBundle(output: String = "bundle.exe") throws -> String {
        try build(
            spec: Self.probeSpec,
            tree: ["native/probe.exe": .copy(of: try program("probe")), "native/data.txt": .text(Self.dataText)],
            output: output)
    }

    func layerDirs(_ cache: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers")) ?? []).sorted()
    }

    func tmpEntries(_ cache: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: cache + "/tmp")) ?? []).sorted()
    }

    /// What a `{layer}` placeholder became, as the launcher wrote it: `\\?\` (a long-path prefix)
    /// dropped and `/` read as `\`, which Windows takes as the same path.
    static func normalized(_ windowsPath: String) -> String {
        var p = windowsPath.replacingOccurrences(of: "/", with: "\\")
        if p.hasPrefix("\\\\?\\") { p.removeFirst(4) }
        return p
    }

    /// The probe's `NAME=VALUE` line for `name`.
    static func value(_ name: String, in stdout: String) -> String? {
        unix(stdout).split(separator: "\n").first { $0.hasPrefix(name + "=") }.map {
            String($0.dropFirst(name.count + 1))
        }
    }

    // MARK: Launch

    /// The hello example for windows-x64: built, inspected and verified on the host, then run under
    /// wine: the first run extracts, the second runs warm from the cache; `--launcher info` names
    /// the target.
    func testHelloBundleLaunchesUnderWine() throws {
        try requireWineAndStub()
        let binary = try build(
            spec: """
                [bundle]
                name = "hello"
                version = "1.0.0"
                [layers.native]
                path = "native"
                compression = "zstd"
                [entries.hello]
                exec = ["{native}/hello.exe"]
                env = { HELLO_HOME = "{native}" }
                default = true
                """,
            tree: ["native/hello.exe": .copy(of: try program("hello"))], output: "hello.exe")
        let inspect = try Harness.tool(["inspect", binary]).stdout
        XCTAssertTrue(inspect.contains("target:         windows-x64"), inspect)
        XCTAssertEqual(Array(try Harness.bytes(binary).prefix(2)), [0x4D, 0x5A], "a PE file (MZ)")
        let verified = try Harness.tool(["verify", binary, "--pubkey", dir + "/k.pub"]).stdout
        XCTAssertTrue(verified.contains("OK — hello 1.0.0 for windows-x64"), verified)

        let cache = dir + "/cache"
        let env = ["HELLO_LAUNCHER_CACHE_DIR": win(cache)]
        let first = try wine(binary, ["first run", "ünïcödé"], env: env)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        let out = Self.unix(first.stdout)
        XCTAssertTrue(out.contains("hello from a bundled static C program (2 arguments)\n"), out)
        XCTAssertTrue(out.contains("  argv[1] = [first run]\n  argv[2] = [ünïcödé]\n"), out)
        XCTAssertTrue(out.contains("HELLO_LAUNCHER_BUNDLE_VERSION=1.0.0\n"), out)
        XCTAssertEqual(layerDirs(cache).count, 1, "the layer was extracted and published once")
        let layer = try XCTUnwrap(layerDirs(cache).first)
        let home = try XCTUnwrap(Self.value("HELLO_HOME", in: out), out)
        XCTAssertEqual(Self.normalized(home), win(cache) + "\\layers\\" + layer, "{native} is the layer's directory")
        XCTAssertEqual(
            try Harness.bytes(cache + "/layers/" + layer + "/hello.exe"), try Harness.bytes(try program("hello")))
        XCTAssertEqual(tmpEntries(cache), [])
        XCTAssertTrue(first.stderr.isEmpty, "nothing on stderr: \(first.stderr)")

        let warm = try wine(binary, ["again"], env: env)
        XCTAssertEqual(warm.status, 0, warm.stderr)
        XCTAssertTrue(Self.unix(warm.stdout).contains("(1 argument)\n  argv[1] = [again]\n"), warm.stdout)
        XCTAssertEqual(layerDirs(cache), [layer], "the warm run extracted nothing")

        let info = try wine(binary, ["--launcher", "info"], env: env)
        XCTAssertEqual(info.status, 0, info.stderr)
        let text = Self.unix(info.stdout)
        XCTAssertTrue(text.contains("target:         windows-x64"), text)
        XCTAssertTrue(text.contains("version:        1.0.0"), text)
    }

    /// The probe's launch: the launcher's variables (`PROBE_LAUNCHER_BUNDLE_EXE` is the bundle's own Windows
    /// path, from GetModuleFileNameW), the entry's env, and standard output passed through.
    func testLauncherVariablesAndSelfPath() throws {
        try requireWineAndStub()
        let binary = try probeBundle()
        let cache = dir + "/cache"
        let o = try wine(binary, ["x"], env: ["PROBE_LAUNCHER_CACHE_DIR": win(cache)])
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("argc=2\narg[x]\n"), o.stdout)
        XCTAssertEqual(Self.value("PROBE_LAUNCHER_BUNDLE_VERSION", in: o.stdout), "2.0.0")
        XCTAssertEqual(Self.value("PROBE_LAUNCHER_BUNDLE_ENTRY", in: o.stdout), "probe")
        XCTAssertEqual(Self.value("PROBE_LAUNCHER_BUNDLE_EXE", in: o.stdout).map(Self.normalized), win(binary))
        XCTAssertEqual(Self.value("PROBE_LAUNCHER_BUNDLE_CACHE", in: o.stdout).map(Self.normalized), win(cache))
        let layer = try XCTUnwrap(layerDirs(cache).first)
        XCTAssertEqual(Self.value("PROBE_HOME", in: o.stdout).map(Self.normalized), win(cache) + "\\layers\\" + layer)
    }

    // MARK: Arguments

    /// The argument table: each argument's UTF-8 bytes arrive at the payload exactly, through
    /// Linux argv -> wine (which builds the launcher's Windows command line) -> the launcher (which
    /// splits it, then quotes each argument again for CreateProcessW) -> the child's C runtime.
    /// The same table is first sent to the probe directly under wine, so a difference is the
    /// launcher's, not wine's: measured here, wine delivers every argument below unchanged, among
    /// them a newline, a carriage return and a control byte, as long as the locale is UTF-8.
    static let argumentTable: [String] = [
        "plain", "two words", " leading", "trailing ", "tab\there", "", " ", "  ", "\t",
        "\"", "\"\"", "a\"b", "\"quoted\"", "a\"\"b", "\\\"", "\\\\\"", "x\\\\\\\"y", "a\\", "a\\\\", "a b\\",
        "a b\\\\", "\\\\server\\share", "C:\\dir\\", "C:\\Program Files\\x\\", "\\", "\\\\",
        "é", "ünïcödé", "中文", "😀", "a😀b 中 é", "\u{00A0}nbsp", "\u{FEFF}bom",
        "%PATH%", "%", "%%", "^", "a^b", "^^", "&|<>", "a&b|c<d>e", "*?", "*.*", "'single'", "`back`", "$HOME",
        "!bang!", "(paren)", ";,=", "=", "a=b", "-", "--", "/c", "@file",
        "new\nline", "cr\rx", "\u{01}ctl",
        String(repeating: "x", count: 1000),
        String(repeating: "a b\"c\\", count: 170),
    ]

    /// Decodes the probe's `hex[...]` lines (after the first, `--argv-hex` itself).
    static func hexArguments(_ stdout: String) -> [String] {
        stdout.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("hex[") }.dropFirst()
            .map { line in
                let hex = Array(line.dropFirst(4).dropLast().utf8)
                var bytes: [UInt8] = []
                var i = 0
                while i + 1 < hex.count {
                    bytes.append(UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) ?? 0x3F)
                    i += 2
                }
                return String(decoding: bytes, as: UTF8.self)
            }
    }

    func testArgumentTableArrivesByteExact() throws {
        try requireWineAndStub()
        XCTAssertGreaterThanOrEqual(Self.argumentTable.count, 30)
        // wine alone: Linux argv -> the probe.
        let direct = try wine(try program("probe"), ["--argv-hex"] + Self.argumentTable)
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let viaWine = Self.hexArguments(direct.stdout)
        XCTAssertEqual(viaWine.count, Self.argumentTable.count, direct.stdout)
        for (sent, got) in zip(Self.argumentTable, viaWine) where sent != got {
            XCTFail("wine itself changed \(sent.debugDescription) into \(got.debugDescription)")
        }
        // Through the launcher: one run with the whole table, so the quoting of every argument
        // beside every other one is exercised too.
        let binary = try probeBundle()
        let o = try wine(
            binary, ["--argv-hex"] + Self.argumentTable, env: ["PROBE_LAUNCHER_CACHE_DIR": win(dir + "/cache")])
        XCTAssertEqual(o.status, 0, o.stderr)
        let got = Self.hexArguments(o.stdout)
        XCTAssertEqual(got.count, Self.argumentTable.count, "argument count: \(o.stdout)")
        for (i, (sent, arrived)) in zip(Self.argumentTable, got).enumerated() where sent != arrived {
            XCTFail("argument \(i) \(sent.debugDescription) arrived as \(arrived.debugDescription)")
        }
        // Alone, the arguments whose quoting depends on being last on the line (an empty or
        // space-only argument, trailing backslashes before the closing quote), and one non-ASCII.
        for a in ["", " ", "\t", "a\\", "\\", "\\\\", "a b\\", "\"", "\\\"", "é"] {
            let i = try XCTUnwrap(Self.argumentTable.firstIndex(of: a), a.debugDescription)
            let one = try wine(binary, ["--argv-hex", a], env: ["PROBE_LAUNCHER_CACHE_DIR": win(dir + "/cache")])
            XCTAssertEqual(
                Self.hexArguments(one.stdout), [a], "argument \(i) \(a.debugDescription) alone: \(one.stderr)")
        }
    }

    // MARK: Exit codes

    /// The child's exit code is the launcher's, any 32-bit value. Seen from Windows (the probe's
    /// `--spawn` runs the bundle with CreateProcessW and prints GetExitCodeProcess) it is exact; seen
    /// from Linux it is wine's unix status: wine's ntdll exits with `get_unix_exit_code(code)`,
    /// which turns a nonzero code whose low byte is 0 into 1 (so that it does not read as success),
    /// and the kernel keeps the low byte: 256 -> 1, 3221225477 (0xC0000005) -> 5.
    func testExitCodesArriveWhole() throws {
        try requireWineAndStub()
        let binary = try probeBundle()
        let env = ["PROBE_LAUNCHER_CACHE_DIR": win(dir + "/cache")]
        let cases: [(code: UInt32, unix: Int32)] = [(0, 0), (1, 1), (255, 255), (256, 1), (3_221_225_477, 5)]
        for (code, unixStatus) in cases {
            let linux = try wine(binary, ["--exit", String(code)], env: env)
            XCTAssertEqual(linux.status, unixStatus, "exit \(code) as wine's unix status: \(linux.stderr)")
            XCTAssertTrue(linux.stderr.isEmpty, "exit \(code): the launcher said something: \(linux.stderr)")
            let windows = try wine(
                try program("probe"), ["--spawn", win(binary) + " --exit " + String(code)], env: env)
            XCTAssertEqual(windows.status, 0, windows.stderr)
            XCTAssertTrue(
                Self.unix(windows.stdout).hasSuffix("exit=\(code)\n"),
                "exit \(code) seen by a Windows parent: \(windows.stdout) \(windows.stderr)")
        }
        // A launcher failure is 125 on both sides.
        let windows = try wine(
            try program("probe"), ["--spawn", win(binary) + " --launcher cache bogus"], env: env)
        XCTAssertTrue(Self.unix(windows.stdout).hasSuffix("exit=125\n"), windows.stdout + windows.stderr)
    }

    // MARK: Cache

    /// Eight first launches at once on an empty cache: all run, the layer is extracted and published
    /// once, no temporary directory is left.
    func testConcurrentFirstLaunches() throws {
        try requireWineAndStub()
        let binary = try probeBundle()
        let cache = dir + "/cache"
        let count = 8
        let results = ConcurrentResults(count: count)
        let cacheEnv = win(cache)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            results.set(
                i,
                Result {
                    try WindowsTests.wine(
                        binary, ["run-\(i)"], env: ["PROBE_LAUNCHER_CACHE_DIR": cacheEnv], timeout: 300)
                })
        }
        for (i, r) in results.all().enumerated() {
            let o = try XCTUnwrap(r, "launch \(i) did not report").get()
            XCTAssertEqual(o.status, 0, "launch \(i): \(o.stderr)")
            XCTAssertTrue(o.stdout.contains("arg[run-\(i)]\n"), "launch \(i): \(o.stdout)")
        }
        XCTAssertEqual(layerDirs(cache).count, 1, "one layer directory: \(layerDirs(cache))")
        XCTAssertEqual(tmpEntries(cache), [])
        let layer = try XCTUnwrap(layerDirs(cache).first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache + "/layers/" + layer + "/.dgmo-layer"))
        XCTAssertEqual(
            try String(contentsOfFile: cache + "/layers/" + layer + "/data.txt", encoding: .utf8), Self.dataText)
    }

    /// A launch killed during the extraction of a large layer (200 MiB of incompressible data), the
    /// way a Windows user kills it: `taskkill /F` (TerminateProcess, as Task Manager's End task),
    /// run in the same prefix. The next launch runs, the layer is whole, and the killed launch's
    /// temporary directory is gone.
    func testLaunchKilledDuringExtractionThenRelaunched() throws {
        try requireWineAndStub()
        try FileManager.default.createDirectory(atPath: dir + "/src/native", withIntermediateDirectories: true)
        let dd = try Harness.run(
            "/bin/dd", ["if=/dev/urandom", "of=" + dir + "/src/native/noise.bin", "bs=1M", "count=200", "status=none"],
            timeout: 300)
        XCTAssertEqual(dd.status, 0, dd.stderr)
        let binary = try build(
            spec: Self.probeSpec, tree: ["native/probe.exe": .copy(of: try program("probe"))], output: "victim.exe")
        try? FileManager.default.removeItem(atPath: dir + "/src")
        let cache = dir + "/cache"
        let env = ["PROBE_LAUNCHER_CACHE_DIR": win(cache)]
        let touched = dir + "/payload-ran"
        let p = try startWine(binary, ["first"], env: env.merging(["PROBE_TOUCH": win(touched)]) { a, _ in a })
        // Wait until the extraction is under way: part of noise.bin written in the cache's tmp.
        let deadline = Date().addingTimeInterval(240)
        var inProgress = false
        while Date() < deadline && p.isRunning && !inProgress {
            let walk = FileManager.default.enumerator(atPath: cache + "/tmp")
            while let f = walk?.nextObject() as? String {
                guard (f as NSString).lastPathComponent == "noise.bin" else { continue }
                let size = (try? FileManager.default.attributesOfItem(atPath: cache + "/tmp/" + f))?[.size] as? UInt64
                if (size ?? 0) > 0 { inProgress = true }
            }
            if !inProgress { usleep(20_000) }
        }
        XCTAssertTrue(
            inProgress, "the extraction was seen under way (tmp: \(tmpEntries(cache)), running: \(p.isRunning))")
        let kill = try wine("taskkill", ["/F", "/IM", "victim.exe"], timeout: 60)
        XCTAssertEqual(kill.status, 0, "taskkill: \(kill.stdout) \(kill.stderr)")
        let killDeadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < killDeadline { usleep(20_000) }
        XCTAssertFalse(p.isRunning, "the launcher outlived taskkill /F")
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        // (Its unix status says nothing: wine's taskkill terminates with exit code 0.)
        XCTAssertFalse(FileManager.default.fileExists(atPath: touched), "the killed launch ran its payload")
        XCTAssertEqual(layerDirs(cache), [], "a half-extracted layer was published")

        let again = try wine(binary, ["again"], env: env, timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("arg[again]\n"), again.stdout)
        XCTAssertEqual(layerDirs(cache).count, 1)
        // (`<digest16>.<pid>.<random>`: the relaunch removes it when no process has that pid, or the one
        // that has it started after the directory last changed: Windows reuses pids at once.)
        XCTAssertEqual(
            tmpEntries(cache), [],
            "the killed launch's temporary directory was cleaned up (relaunch's payload: \(Self.value("pid", in: again.stdout) ?? "?"))"
        )
        let layer = try XCTUnwrap(layerDirs(cache).first)
        let size = try FileManager.default.attributesOfItem(atPath: cache + "/layers/" + layer + "/noise.bin")[.size]
        XCTAssertEqual(size as? UInt64, 200 << 20)
        let verify = try wine(binary, ["--launcher", "cache", "verify"], env: env, timeout: 300)
        XCTAssertEqual(verify.status, 0, "the cache verifies after the kill: \(verify.stdout) \(verify.stderr)")
    }

    /// A cache directory whose Windows path has spaces and non-ASCII letters.
    func testCachePathWithSpacesAndNonASCII() throws {
        try requireWineAndStub()
        let binary = try probeBundle()
        let cache = dir + "/cache dir ünï 中文"
        let env = ["PROBE_LAUNCHER_CACHE_DIR": win(cache)]
        let o = try wine(binary, ["x"], env: env)
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        let layer = try XCTUnwrap(layerDirs(cache).first, "extracted into \(cache)")
        XCTAssertEqual(Self.value("PROBE_HOME", in: o.stdout).map(Self.normalized), win(cache) + "\\layers\\" + layer)
        XCTAssertEqual(
            Self.unix(try wine(binary, ["--launcher", "cache", "path"], env: env).stdout), win(cache) + "\n")
        XCTAssertEqual(try wine(binary, ["y"], env: env).status, 0, "warm")
        XCTAssertEqual(try wine(binary, ["--launcher", "cache", "verify"], env: env).status, 0)
    }

    /// A layer of more than `perFileFlushLimit` (128) entries: on Linux it is made durable by
    /// syncfs, which Windows has not for an ordinary user, so there every file is flushed. It
    /// extracts, runs and verifies.
    func testLayerOfManyFilesExtracts() throws {
        try requireWineAndStub()
        var tree: [String: Harness.TreeFile] = ["native/probe.exe": .copy(of: try program("probe"))]
        for i in 0..<200 { tree["native/data/f\(i).txt"] = .text("file \(i)\n") }
        let binary = try build(spec: Self.probeSpec, tree: tree, output: "many.exe")
        let cache = dir + "/cache"
        let env = ["PROBE_LAUNCHER_CACHE_DIR": win(cache)]
        let o = try wine(binary, ["many"], env: env)
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("arg[many]"), o.stdout)
        let layer = try XCTUnwrap(layerDirs(cache).first)
        XCTAssertEqual(
            (try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers/" + layer + "/data"))?.count, 200)
        XCTAssertEqual(try wine(binary, ["--launcher", "cache", "verify"], env: env).status, 0)
    }

    // MARK: Tamper

    /// A flipped byte in the layer data, the manifest, the target's name, the file table or the
    /// signature: exit 125, one line, the payload never ran and nothing was published.
    func testTamperedBundleIsRefusedBeforeAnythingRuns() throws {
        try requireWineAndStub()
        let binary = try probeBundle()
        let bytes = try Harness.bytes(binary)
        let t = try Harness.trailer(bytes)
        let touched = dir + "/payload-ran"
        let cases: [(String, UInt64, [String])] = [
            ("layer data", (t.layers.lowerBound + t.layers.upperBound) / 2, ["layer 'native'"]),
            ("manifest", t.header.lowerBound + 7, ["signature verification failed"]),
            ("target name", t.header.upperBound - 3, ["signature verification failed"]),
            ("file table", t.tables.lowerBound + 3, ["file table does not match its digest"]),
            ("signature", t.signature.upperBound - 1, ["signature"]),
        ]
        for (what, offset, expect) in cases {
            var x = bytes
            x[Int(offset)] ^= 0x01
            let path = dir + "/tampered.exe"
            try Harness.writeBytes(x, to: path)
            let cache = dir + "/cache-" + UUID().uuidString
            let o = try wine(path, ["arg"], env: ["PROBE_LAUNCHER_CACHE_DIR": win(cache), "PROBE_TOUCH": win(touched)])
            XCTAssertEqual(o.status, 125, "\(what): \(o.stdout) \(o.stderr)")
            XCTAssertEqual(Self.unix(o.stderr).filter { $0 == "\n" }.count, 1, "\(what): one line: \(o.stderr)")
            XCTAssertTrue(
                expect.contains { o.stderr.contains($0) }, "\(what): should mention one of \(expect): \(o.stderr)")
            XCTAssertTrue(o.stdout.isEmpty, "\(what): \(o.stdout)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: touched), "\(what): the payload ran")
            XCTAssertEqual(layerDirs(cache), [], "\(what): a layer was published")
            XCTAssertEqual(tmpEntries(cache), [], "\(what): temporary files were left")
        }
        // The untampered bundle runs, so the refusals above are the tampering's.
        let ok = try wine(
            binary, ["arg"], env: ["PROBE_LAUNCHER_CACHE_DIR": win(dir + "/cache-ok"), "PROBE_TOUCH": win(touched)])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(
            ok.stdout.contains("arg[arg]") && ok.stdout.contains("PROBE_LAUNCHER_BUNDLE_VERSION=2.0.0"), ok.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: touched))
    }

    // MARK: Ops

    /// The ops commands of the Windows launcher: info (with the target), cache path/list/verify/gc/clear,
    /// and clear skipping a layer in use by a running payload, saying so.
    func testOpsCommands() throws {
        try requireWineAndStub()
        let binary = try probeBundle()
        let cache = dir + "/cache"
        let env = ["PROBE_LAUNCHER_CACHE_DIR": win(cache)]
        func ops(_ args: [String]) throws -> Harness.Output {
            var o = try wine(binary, ["--launcher"] + args, env: env)
            o.stdout = Self.unix(o.stdout)
            o.stderr = Self.unix(o.stderr)
            return o
        }

        var o = try ops(["info"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(
            o.stdout.contains("target:         windows-x64") && o.stdout.contains("version:        2.0.0"), o.stdout)
        o = try ops(["info", "--json"])
        let info = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any], o.stdout)
        XCTAssertEqual(info["target"] as? String, "windows-x64")
        XCTAssertEqual(try ops(["cache", "path"]).stdout, win(cache) + "\n")

        XCTAssertEqual(try wine(binary, [], env: env).status, 0)
        o = try ops(["cache", "list", "--json"])
        let list = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any], o.stdout)
        XCTAssertEqual((list["bundles"] as? [[String: Any]])?.first?["version"] as? String, "2.0.0")
        XCTAssertEqual((list["layers"] as? [[String: Any]])?.count, 1)

        o = try ops(["cache", "verify"])
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        let layer = cache + "/layers/" + layerDirs(cache)[0]
        // Same size, other bytes (the file may be read-only: the launcher maps 0644 files so on Windows).
        chmod(layer + "/data.txt", 0o644)
        try Harness.write(String(Self.dataText.reversed()), to: layer + "/data.txt")
        o = try ops(["cache", "verify"])
        XCTAssertEqual(o.status, 1, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("data.txt"), o.stdout)
        XCTAssertEqual(try ops(["cache", "verify", "--repair"]).status, 0)
        XCTAssertEqual(try ops(["cache", "verify"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: layer + "/data.txt", encoding: .utf8), Self.dataText, "repaired")

        o = try ops(["cache", "gc"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("removed 0 layer(s)"), o.stdout)

        // A payload still running holds its layer (the launcher's lock, and its open image): clear
        // skips it and says so; once it ended, clear removes it.
        let holder = try startSleepingPayload(binary, env: env, touchFile: dir + "/payload-runs")
        defer { if holder.isRunning { holder.terminate() } }
        o = try ops(["cache", "clear"])
        XCTAssertEqual(o.status, 1, "a layer in use remains (as on Linux): \(o.stdout) \(o.stderr)")
        XCTAssertTrue(o.stdout.contains("removed 0 layer(s)") && o.stdout.contains("in use"), o.stdout)
        XCTAssertEqual(layerDirs(cache).count, 1, "the layer in use stays")
        let kill = try wine("taskkill", ["/F", "/IM", "bundle.exe"], timeout: 60)
        XCTAssertEqual(kill.status, 0, kill.stdout + kill.stderr)
        holder.waitUntilExit()
        // The job object took the payload down with the launcher: nothing holds the layer now.
        o = try ops(["cache", "clear"])
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("removed 1 layer(s)"), o.stdout)
        XCTAssertEqual(layerDirs(cache), [])
        XCTAssertEqual(try ops(["cache", "bogus"]).status, 125)
    }

    // MARK: Automatic collection

    /// The automatic collection (docs/ops.md, "Automatic collection") on Windows, where no process
    /// can be detached (no fork): a due launch deletes what it collected itself, before its app
    /// starts. Another bundle's layer unused for 40 days is kept while that bundle's payload runs
    /// (its lock), and goes at the next due launch once the payload ended; nothing stays in `tmp/`.
    func testAutomaticCollectionDeletesInPlaceAndKeepsAHeldLayer() throws {
        try requireWineAndStub()
        let cache = dir + "/cache"
        let env = ["PROBE_LAUNCHER_CACHE_DIR": win(cache)]
        let records = { Set((try? FileManager.default.contentsOfDirectory(atPath: cache + "/bundles")) ?? []) }
        func age(_ path: String, days: Double) throws {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-days * 86400)], ofItemAtPath: path)
        }
        let current = try probeBundle()
        let old = try build(
            spec: Self.probeSpec.replacingOccurrences(of: "version = \"2.0.0\"", with: "version = \"1.0.0\""),
            tree: ["native/probe.exe": .copy(of: try program("probe")), "native/data.txt": .text("old data\n")],
            output: "old.exe", subdir: "old")

        // old's payload keeps running, holding its layer.
        let holder = try startSleepingPayload(old, env: env, touchFile: dir + "/old-runs")
        defer { if holder.isRunning { holder.terminate() } }
        let oldLayer = try XCTUnwrap(layerDirs(cache).first)
        let oldRecord = try XCTUnwrap(records().first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cache + "/gc-stamp"), "the first launch starts the clock")
        XCTAssertEqual(try wine(current, [], env: env).status, 0)
        let currentLayer = try XCTUnwrap(layerDirs(cache).first { $0 != oldLayer })

        // old was last used 40 days ago and the last collection was 2 days ago, but it still runs.
        try age(cache + "/bundles/" + oldRecord, days: 40)
        try age(cache + "/gc-stamp", days: 2)
        var o = try wine(current, [], env: env)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(layerDirs(cache), [oldLayer, currentLayer].sorted(), "a layer held by a running payload stays")
        let stampAge = try XCTUnwrap(
            try FileManager.default.attributesOfItem(atPath: cache + "/gc-stamp")[.modificationDate] as? Date)
        XCTAssertLessThan(abs(stampAge.timeIntervalSinceNow), 120, "the stamp is the collection's time")

        // The payload ends (the job object takes it down with its launcher); the next due launch collects.
        let kill = try wine("taskkill", ["/F", "/IM", "old.exe"], timeout: 60)
        XCTAssertEqual(kill.status, 0, kill.stdout + kill.stderr)
        holder.waitUntilExit()
        try age(cache + "/bundles/" + oldRecord, days: 40)
        try age(cache + "/gc-stamp", days: 2)
        o = try wine(current, [], env: env)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(Self.unix(o.stderr), "", "a collection says nothing")
        XCTAssertEqual(layerDirs(cache), [currentLayer], "old's layer collected, the launching bundle's kept")
        XCTAssertEqual(tmpEntries(cache), [], "deleted by the launch itself: nothing left in tmp/")
        XCTAssertFalse(records().contains(oldRecord), "old's record went with its last layer")
        // old extracts again at its next launch.
        XCTAssertEqual(try wine(old, [], env: env).status, 0)
        XCTAssertEqual(layerDirs(cache), [oldLayer, currentLayer].sorted())
    }

    // MARK: Hostile manifests

    /// A signed windows-x64 bundle of app `hostile` whose one layer `l` holds exactly `files` (in
    /// byte order of their paths), with `entries`, signed with the manifest as given around the
    /// Windows stub (`BundleAssembler.write`): only the launcher's own checks can refuse it.
    func signedWindows(_ files: [(String, [UInt8])], entries: [EntryRecord]) throws -> String {
        let sorted = files.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        let records = sorted.map { (path, bytes) in
            FileRecord(
                kind: .regular, mode: 0o755, size: UInt64(bytes.count), path: Array(path.utf8),
                digest: Blake2b.hash(bytes))
        }
        let data = sorted.flatMap(\.1)
        let table = FileTable.encode(records)
        let (compressed, frames) = try encodeFrames(data, codec: .zstd)
        let built = try BuiltLayer(
            name: "l", codec: .zstd, records: records, table: table, digest: Blake2b.hash(table),
            compressed: compressed, frames: frames, uncompressedSize: UInt64(data.count))
        let manifest = Manifest(
            appName: "hostile", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [layerRecord(built)],
            entries: entries, target: .windowsX64)
        let bytes = try BundleAssembler.write(
            stub: try Harness.bytes(Self.stub), manifest: manifest, layers: [built], signing: .key(key))
        let path = dir + "/hostile-" + UUID().uuidString + ".exe"
        try Harness.writeBytes(bytes, to: path)
        return path
    }

    func hostileEntry(_ argv: [String]) -> EntryRecord {
        EntryRecord(name: "hostile", isDefault: true, argv: argv, env: [], layers: [0])
    }

    /// Windows-hostile names and entries in signed windows-x64 manifests (bundle-append build refuses
    /// to write them): the launcher refuses each with status 125 and one line naming it, before the
    /// payload runs and before anything is published. The same bundle with an honest name runs.
    func testWindowsHostileNamesInASignedManifestAreRefused() throws {
        try requireWineAndStub()
        let probe = try Harness.bytes(try program("probe"))
        let run = ["{l}/probe.exe"]
        let touched = dir + "/payload-ran"
        func launch(_ bundle: String) throws -> (Harness.Output, String) {
            let cache = dir + "/cache-" + UUID().uuidString
            let o = try wine(bundle, [], env: ["HOSTILE_CACHE_DIR": win(cache), "PROBE_TOUCH": win(touched)])
            return (o, cache)
        }
        let (ok, okCache) = try launch(
            try signedWindows([("probe.exe", probe), ("readme.txt", [0x61])], entries: [hostileEntry(run)]))
        XCTAssertEqual(ok.status, 0, "the honest bundle runs: \(ok.stdout) \(ok.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: touched), "the honest payload ran")
        XCTAssertEqual(layerDirs(okCache).count, 1)
        try? FileManager.default.removeItem(atPath: touched)

        let cases: [(String, [(String, [UInt8])], [String], String)] = [
            ("device name", [("CON", [0x61]), ("probe.exe", probe)], run, "'CON'"),
            ("device name with an extension", [("aux.txt", [0x61]), ("probe.exe", probe)], run, "'aux.txt'"),
            ("trailing dot", [("a.", [0x61]), ("probe.exe", probe)], run, "'a.'"),
            ("trailing space", [("a ", [0x61]), ("probe.exe", probe)], run, "'a '"),
            ("alternate data stream", [("file:stream", [0x61]), ("probe.exe", probe)], run, "'file:stream'"),
            ("backslash", [("a\\..\\..\\x", [0x61]), ("probe.exe", probe)], run, "'a\\..\\..\\x'"),
            ("case collision", [("README", [0x61]), ("probe.exe", probe), ("readme", [0x62])], run, "'readme'"),
            ("marker in another case", [(".DGMO-Layer", [0x61]), ("probe.exe", probe)], run, "'.DGMO-Layer'"),
            ("entry escaping its layer", [("probe.exe", probe)], ["{l}/a\\..\\..\\x.exe"], ".."),
        ]
        for (what, files, argv, needle) in cases {
            let bundle = try signedWindows(files, entries: [hostileEntry(argv)])
            let (o, cache) = try launch(bundle)
            XCTAssertEqual(o.status, 125, "\(what): \(o.stdout) \(o.stderr)")
            XCTAssertEqual(Self.unix(o.stderr).filter { $0 == "\n" }.count, 1, "\(what): one line: \(o.stderr)")
            XCTAssertTrue(o.stderr.contains(needle), "\(what): should name \(needle): \(o.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: touched), "\(what): the payload ran")
            XCTAssertEqual(layerDirs(cache), [], "\(what): a layer was published")
            XCTAssertEqual(tmpEntries(cache), [], "\(what): temporary files were left")
            // The host's extractor gives the same verdict (it applies the manifest's target's rules).
            let extract = try Harness.run(Harness.tool, ["extract", bundle, dir + "/extract-" + UUID().uuidString])
            XCTAssertNotEqual(extract.status, 0, "\(what): bundle-append extract accepted it: \(extract.stdout)")
        }
    }

    // MARK: Authenticode

    /// A bundle signed with osslsigncode (a self-signed certificate made here) passes
    /// `osslsigncode verify` and still runs under wine: the launcher finds its trailer before the
    /// certificate table. A flipped payload byte in the signed file is refused by the launcher's own
    /// Ed25519 check (125), and osslsigncode no longer verifies it either.
    func testAuthenticodeSignedBundleVerifiesAndRuns() throws {
        try requireWineAndStub()
        let osslsigncode = try XCTUnwrap(
            ["/usr/local/bin", "/usr/bin", "/bin"].map { $0 + "/osslsigncode" }.first {
                FileManager.default.isExecutableFile(atPath: $0)
            }, "osslsigncode is missing: scripts/install-deps.sh installs it")
        let binary = try probeBundle()
        let cert = try Harness.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bundle test", "-days", "2",
                "-keyout", dir + "/cert.key", "-out", dir + "/cert.pem",
            ])
        XCTAssertEqual(cert.status, 0, cert.stderr)
        let signed = dir + "/signed.exe"
        let sign = try Harness.run(
            osslsigncode,
            ["sign", "-certs", dir + "/cert.pem", "-key", dir + "/cert.key", "-in", binary, "-out", signed])
        XCTAssertEqual(sign.status, 0, "osslsigncode sign: \(sign.stdout) \(sign.stderr)")
        let verify = try Harness.run(osslsigncode, ["verify", "-CAfile", dir + "/cert.pem", "-in", signed])
        XCTAssertEqual(verify.status, 0, "osslsigncode verify: \(verify.stdout) \(verify.stderr)")
        let before = try Harness.bytes(binary), after = try Harness.bytes(signed)
        XCTAssertGreaterThan(after.count, before.count, "a certificate table was appended")
        let ours = try Harness.run(Harness.tool, ["verify", signed, "--pubkey", dir + "/k.pub"])
        XCTAssertEqual(ours.status, 0, "bundle-append verify of the signed bundle: \(ours.stderr)")

        let cache = dir + "/cache"
        let o = try wine(signed, ["signed"], env: ["PROBE_LAUNCHER_CACHE_DIR": win(cache)])
        XCTAssertEqual(o.status, 0, "the signed bundle runs: \(o.stdout) \(o.stderr)")
        XCTAssertTrue(o.stdout.contains("arg[signed]\n"), o.stdout)
        XCTAssertEqual(Self.value("PROBE_LAUNCHER_BUNDLE_EXE", in: o.stdout).map(Self.normalized), win(signed))

        // A payload byte flipped in the signed file (signing moved nothing: the layers are where
        // the unsigned bundle's trailer says).
        let t = try Harness.trailer(before)
        var tampered = after
        tampered[Int((t.layers.lowerBound + t.layers.upperBound) / 2)] ^= 0x01
        let path = dir + "/signed-tampered.exe"
        try Harness.writeBytes(tampered, to: path)
        let touched = dir + "/payload-ran"
        let refused = try wine(
            path, ["x"], env: ["PROBE_LAUNCHER_CACHE_DIR": win(dir + "/cache-tampered"), "PROBE_TOUCH": win(touched)])
        XCTAssertEqual(refused.status, 125, "\(refused.stdout) \(refused.stderr)")
        XCTAssertEqual(Self.unix(refused.stderr).filter { $0 == "\n" }.count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("layer 'native'"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: touched), "the payload ran")
        XCTAssertEqual(layerDirs(dir + "/cache-tampered"), [])
        let stale = try Harness.run(osslsigncode, ["verify", "-CAfile", dir + "/cert.pem", "-in", path])
        XCTAssertNotEqual(stale.status, 0, "osslsigncode verified a changed file: \(stale.stdout)")
    }
}
