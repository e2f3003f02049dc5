import Foundation
import XCTest

/// The README's first command on a new machine (scripts/fresh-machine-test.sh): a fresh clone of the
/// commit under test, then `make demo` exactly as README.md writes it, in a clean Debian bookworm root
/// holding only what a new machine of this kind holds (scripts/fresh-machine/packages.txt, the Swift
/// toolchain and packages read-only, the trust store, the registries' settings).
///
/// CI runs on the developer's machine, where every package is there already, so only this test can
/// show a missing install step. On main before the multiarch fix it failed after about 70 s with
/// "cannot find -lsodium". `make test` runs it right after the check tier, before the long classes.
final class FreshMachineTests: XCTestCase {
    func testMakeDemoPassesFromAFreshCloneInACleanRoot() throws {
        guard getuid() == 0 else {
            // CI runs as root: there a skip would hide the one test that proves a new machine works.
            XCTFail("the fresh-machine test needs root (debootstrap, mounts, chroot): run `make test` as root")
            return
        }
        let script = Harness.packageRoot.appendingPathComponent("scripts/fresh-machine-test.sh").path
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = env["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let start = Date()
        let o = try Harness.run("/bin/bash", [script], env: env, timeout: 45 * 60)
        let seconds = Int(Date().timeIntervalSince(start))
        print("fresh-machine test: \(seconds) s")
        // Keep the failure readable in CI's log: the end of what make demo printed.
        let tail = (o.stdout + o.stderr).split(separator: "\n", omittingEmptySubsequences: false).suffix(40)
            .joined(separator: "\n")
        XCTAssertEqual(o.status, 0, "make demo failed in the clean root:\n\(tail)")
        XCTAssertTrue(o.stdout.contains("DGMO v\(DGMOTests.version)\n"), "DGMO's version line:\n\(tail)")
        for generation in 1...3 {
            XCTAssertTrue(
                o.stdout.contains("generation \(generation): best score -"), "evolve's scores, generation \(generation):\n\(tail)")
        }
        XCTAssertTrue(o.stdout.contains("fresh-machine-test: passed: 'make demo'"), tail)
    }
}
