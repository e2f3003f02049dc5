import Foundation
import XCTest

/// Every DGMO command on a real old system: a Debian 11 root (glibc 2.31), made once with
/// debootstrap and cached in .build-dgmo/bullseye-root, no network, an empty environment, with
/// /proc mounted and without (scripts/old-system-test.sh; without /proc the launcher runs, Bun
/// cannot start at all, so that part runs the launcher's own commands, the engine through the
/// launcher and the layers' entries directly, and reports Bun).
final class OldSystemTests: XCTestCase {
    func testEveryCommandRunsInADebian11Root() throws {
        guard getuid() == 0 else { throw XCTSkip("the old-system test needs root (debootstrap, mount, chroot)") }
        try Harness.requireDGMOBinary()
        let dir = try Harness.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A newer release of the same stage, signed with the key the binary trusts, for `dgmo update`.
        var toml = try String(contentsOfFile: DGMOTests.work + "/dgmo.toml", encoding: .utf8)
        toml = toml.replacingOccurrences(of: "version = \"\(DGMOTests.version)\"", with: "version = \"99.0.0\"")
        toml = toml.replacingOccurrences(of: "path = \"stage/", with: "path = \"\(DGMOTests.work)/stage/")
        try Harness.write(toml, to: dir + "/newer.toml")
        let newer = dir + "/newer", key = DGMOTests.work + "/dev-signing.key"
        try Harness.tool([
            "build", dir + "/newer.toml", "-o", newer, "--key", key, "--compression", "zstd", "--level", "1",
        ])
        try Harness.tool(["sign", newer, "--key", key])

        let script = Harness.packageRoot.appendingPathComponent("scripts/old-system-test.sh").path
        let o = try Harness.run(
            "/bin/bash", [script, DGMOTests.binary, newer],
            env: [
                "BUNDLE_APPEND": Harness.tool, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ],
            cwd: Harness.packageRoot.path, timeout: 900)
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        XCTAssertTrue(o.stdout.contains("root: ldd (Debian GLIBC 2.31"), o.stdout)
        XCTAssertTrue(o.stdout.contains("$ dgmo --version\nDGMO v\(DGMOTests.version)\n"), o.stdout)
        XCTAssertTrue(o.stdout.contains("$ dgmo evolve --seed 1 --generations 3\ngeneration 1: best score -"), o.stdout)
        XCTAssertTrue(o.stdout.contains("update available: \(DGMOTests.version) -> 99.0.0"), o.stdout)
        XCTAssertTrue(o.stdout.contains("$ dgmo --version (the updated copy)\nDGMO v99.0.0"), o.stdout)
        XCTAssertTrue(
            o.stdout.contains("(no /proc, through the layer's own loader)\ngeneration 1: best score -"), o.stdout)
        XCTAssertTrue(
            o.stdout.contains("(no /proc, through the launcher: DGMO_ENTRY=dgmo-engine)\ngeneration 1: best score -"),
            o.stdout)
        XCTAssertTrue(o.stdout.hasSuffix("old-system-test: OK\n"), o.stdout)
        // Nothing the script mounted is left mounted.
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        XCTAssertFalse(mounts.contains("/tmp/dgmo-bullseye."), mounts)
    }
}
