import Foundation
import XCTest
import TestSupport

/// The windows-x64 DGMO binary (`dgmo-build --target windows-x64`: the PE launcher, bun.exe, the
/// embeddable CPython with the engine as .pyc, Go for windows/amd64) under wine 10: every DGMOTests
/// test (`--version`, `help`, `init`, `evolve`, `sysinfo`, `plugins`, `watch`, `supervise`, `update`,
/// lazy layers) runs again against it, plus the check that `evolve` prints exactly what the
/// linux-x64 binary prints.
///
/// `make test` builds it (a dev build with the debug windows-x64 stub) and passes its path in
/// `DGMO_TEST_WINDOWS_BINARY`. Each run is `$WINE dgmo.exe ARGS` in a wine prefix of the class's own
/// (WindowsTests.makePrefix), with paths given as wine sees them (`Z:\...`). What wine cannot show
/// (ACLs, Defender, the console) is listed in docs/platforms.md; the release workflow's
/// windows-latest job runs the binary on real Windows.
final class DGMOWindowsTests: DGMOTests {
    static let windowsBinary =
        ProcessInfo.processInfo.environment["DGMO_TEST_WINDOWS_BINARY"] ?? work + "/test/dgmo-windows-x64.exe"
    override class var binary: String { windowsBinary }
    override class var stageWork: String { work + "/windows-x64" }
    override class var buildTargetArgs: [String] { ["--target", "windows-x64", "--stub", WindowsTests.stub] }
    override class var expectedOS: String { "windows" }
    /// The Go tools are one multi-call program on Windows (dgmo-native.exe file-watcher ...), and
    /// wine names a process by its Windows file name (`comm` keeps 15 bytes: all of this one).
    override class var watcherProcessName: String { "dgmo-native.exe" }
    override class var goSBOMComponent: String { "dgmo-native" }
    override class var failingCommand: [String] { ["C:\\windows\\system32\\cmd.exe", "/c", "exit 3"] }
    override class var installedName: String { "dgmo.exe" }

    nonisolated(unsafe) static var wineSetup: Result<WindowsTests.Wine, Harness.SetupError> = .failure(
        Harness.SetupError(description: "the class set-up did not run"))

    override class func setUp() {
        super.setUp()
        wineSetup = WindowsTests.makePrefix(name: "dgmo-windows-tests")
    }

    override class func tearDown() {
        if case .success(let w) = wineSetup { w.remove() }
        wineSetup = .failure(Harness.SetupError(description: "the class tear-down ran"))
        super.tearDown()
    }

    override class func invocation(_ program: String, _ args: [String]) throws -> (
        program: String, args: [String], env: [String: String]
    ) {
        // A linux-x64 binary (the comparison with x64) runs directly.
        guard program.hasSuffix(".exe") else { return (program, args, [:]) }
        let w = try wineSetup.get()
        return (w.wine, [program] + args, w.environment)
    }

    override class func nativePath(_ path: String) -> String { WindowsTests.windowsPath(path) }

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: Self.windowsBinary) else {
            XCTFail(
                "no windows-x64 DGMO binary at \(Self.windowsBinary): run 'make test' (it builds one) or set DGMO_TEST_WINDOWS_BINARY"
            )
            throw XCTSkip("no windows-x64 DGMO binary")
        }
        if case .failure(let e) = Self.wineSetup {
            XCTFail("no wine: \(e.description)")
            throw XCTSkip("no wine")
        }
        try super.setUpWithError()
    }

    /// The same program on both targets: the same seed gives the same bytes (the engine writes
    /// "\n" on Windows too), to the last digit.
    func testEvolvePrintsExactlyWhatLinuxX64Prints() throws {
        try assertEvolvePrintsWhatX64Prints("windows-x64")
    }

    /// What runs is Windows code reporting Windows facts: the launcher says windows-x64, and
    /// system-info does not read Linux's /proc through wine's Z: drive.
    func testTheBinaryAndWhatItRunsAreWindows() throws {
        let o = try dgmo(["--launcher", "info", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let launcher = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(launcher?["target"] as? String, "windows-x64", o.stdout)
        XCTAssertEqual(Array(try Harness.bytes(Self.binary).prefix(2)), [0x4D, 0x5A], "a PE file (MZ)")
        let s = try dgmo(["sysinfo"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let info = try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(info?["arch"] as? String, "amd64")
        let linuxKernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(info?["kernel"] as? String, s.stdout)
        XCTAssertNotEqual(info?["kernel"] as? String, linuxKernel, "a Windows version, not Linux's /proc")
        XCTAssertEqual(info?["load_average"] as? [Double] ?? [0], [], "Windows has no load average: \(s.stdout)")
    }

    /// Windows cannot replace or delete a running .exe, but it can rename one: `update --apply` sets
    /// the running binary aside (`.dgmo.exe.old-PID`) and renames the verified copy into its place;
    /// the next update removes what an earlier one set aside.
    func testUpdateSetsTheRunningExeAsideAndTheNextUpdateRemovesIt() throws {
        let devKey = Self.work + "/dev-signing.key"
        let installed = dir + "/dgmo.exe"
        XCTAssertEqual(try Harness.run("/bin/cp", [Self.binary, installed]).status, 0)
        let first = try makeRelease(version: "98.0.0", key: devKey, name: "v98")
        let second = try makeRelease(version: "99.0.0", key: devKey, name: "v99")
        func setAside() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".dgmo.exe.old-") }.sorted()
        }
        var o = try dgmo(["update", Self.nativePath(first), "--apply"], program: installed)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(try dgmo(["--version"], program: installed).stdout, "DGMO v98.0.0\n")
        let aside = try setAside()
        XCTAssertEqual(aside.count, 1, "the replaced binary is set aside: \(aside)")
        o = try dgmo(["update", Self.nativePath(second), "--apply"], program: installed)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(try dgmo(["--version"], program: installed).stdout, "DGMO v99.0.0\n")
        let after = try setAside()
        XCTAssertEqual(after.count, 1, "one set aside by this update: \(after)")
        XCTAssertFalse(after.contains(aside[0]), "the earlier one was removed: \(after)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".update-") }, [],
            "no staged copy left")
    }

    /// dgmo-build's checks of locked inputs do not depend on the target: DGMOTests runs them.
    override func testBuildRefusesUnlockedInputs() throws {
        throw XCTSkip("target-independent (dgmo-build's lock checks); DGMOTests runs it")
    }

    /// The clean-machine chroot is a Linux root without wine; a clean Windows is the release
    /// workflow's windows-latest job.
    override func testCleanMachineChroot() throws {
        throw XCTSkip(
            "a Linux chroot cannot run a Windows binary; the windows-latest workflow job is its clean machine")
    }
}
