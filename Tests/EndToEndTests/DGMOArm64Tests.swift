import Foundation
import XCTest

/// The linux-arm64 DGMO binary (`dgmo-build --target linux-arm64`: arm64 stub, aarch64 Bun, Go with
/// GOARCH=arm64, the aarch64 PyInstaller engine with its own glibc) under qemu-aarch64-static: every
/// DGMOTests test (`--version`, `help`, `init`, `evolve`, `sysinfo`, `plugins`, `update`, lazy layers)
/// runs again against it, plus the check that `evolve` prints the same scores as the x64 binary.
///
/// `make test` builds it (a dev build with the debug arm64 stub) and passes its path in
/// `DGMO_TEST_ARM64_BINARY`. The binary is run directly: the launcher and the programs it execs
/// (Bun, the PyInstaller bootloader, which re-execs itself, the Go tools) are arm64 files, which the
/// kernel hands to qemu only while qemu-aarch64 is registered with binfmt_misc. The class registers
/// it for its duration with scripts/lib/qemu-binfmt.sh and undoes that in the class tear-down.
final class DGMOArm64Tests: DGMOTests {
    static let arm64Binary =
        ProcessInfo.processInfo.environment["DGMO_TEST_ARM64_BINARY"] ?? work + "/test/dgmo-linux-arm64"
    override class var binary: String { arm64Binary }
    override class var stageWork: String { work + "/linux-arm64" }
    override class var buildTargetArgs: [String] { ["--target", "linux-arm64", "--stub", Arm64Tests.stub] }

    nonisolated(unsafe) static var binfmtFailure: String?
    nonisolated(unsafe) static var binfmtRegistered = false

    override class func setUp() {
        super.setUp()
        guard FileManager.default.isExecutableFile(atPath: arm64Binary) else { return }
        do {
            let o = try Harness.run("/bin/bash", [Arm64Tests.binfmtHelper, "register", String(getpid())])
            if o.status == 0 { binfmtRegistered = true } else { binfmtFailure = o.stderr }
        } catch {
            binfmtFailure = "\(error)"
        }
    }

    override class func tearDown() {
        if binfmtRegistered {
            let o = try? Harness.run("/bin/bash", [Arm64Tests.binfmtHelper, "unregister", String(getpid())])
            if o?.status != 0 {
                print("DGMOArm64Tests: could not undo the binfmt registration: \(o?.stderr ?? "did not run")")
            }
            binfmtRegistered = false
        }
        super.tearDown()
    }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.arm64Binary) else {
            XCTFail(
                "no linux-arm64 DGMO binary at \(Self.arm64Binary): run 'make test' (it builds one) or set DGMO_TEST_ARM64_BINARY"
            )
            throw XCTSkip("no linux-arm64 DGMO binary")
        }
        if let failure = Self.binfmtFailure {
            XCTFail("cannot register qemu-aarch64 with binfmt_misc: \(failure)")
            throw XCTSkip("no binfmt_misc registration")
        }
        try super.setUpWithError()
    }

    /// The same program on both targets: the same seed gives the same scores, to the last digit.
    func testEvolveScoresEqualTheX64Binary() throws {
        try assertEvolvePrintsWhatX64Prints("linux-arm64")
    }

    func testTheBinaryAndWhatItRunsAreArm64() throws {
        let o = try dgmo(["--launcher", "info", "--json"])
        XCTAssertEqual(o.status, 0, o.stderr)
        let launcher = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(launcher?["target"] as? String, "linux-arm64", o.stdout)
        let info = try JSONSerialization.jsonObject(with: Data(try dgmo(["sysinfo"]).stdout.utf8)) as? [String: Any]
        XCTAssertEqual(info?["arch"] as? String, "arm64", "Go reports the architecture it was built for")
    }

    /// dgmo-build's checks of locked inputs do not depend on the target: DGMOTests runs them.
    override func testBuildRefusesUnlockedInputs() throws {
        throw XCTSkip("target-independent (dgmo-build's lock checks); DGMOTests runs it")
    }

    /// The clean-machine chroot has no qemu: the arm64 binary cannot run in it. install-test runs
    /// the arm64 packages in an arm64 root instead.
    override func testCleanMachineChroot() throws {
        throw XCTSkip("the clean-machine chroot is an x86-64 one; see scripts/install-test.sh for the arm64 root")
    }
}
