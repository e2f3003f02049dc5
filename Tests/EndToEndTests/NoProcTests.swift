import Foundation
import XCTest
import TestSupport

/// The launcher needs no /proc (issue 12): without /proc/self/exe it finds its own file through
/// argv[0] (a path) or, for a bare name, the first executable of that name on PATH. Proved in a
/// minimal chroot that holds only the bundle (the static debug stub with the static probe
/// program) and an empty cache directory: no /proc, no libc, no /etc.
final class NoProcTests: XCTestCase {
    var root = ""
    var dir = ""

    override func setUpWithError() throws {
        try require(getuid() == 0, "needs root (chroot): run make test as root")
        dir = try Harness.makeTempDir()
        let bundle = try Harness.makeBundle(
            spec: Harness.probeSpec, tree: try Harness.probeTree(), in: dir, output: "probe-bin")
        root = dir + "/root"
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/cache", withIntermediateDirectories: true)
        chmod(root + "/cache", 0o700)
        try FileManager.default.copyItem(atPath: bundle, toPath: root + "/bin/probe-app")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/proc"), "the chroot must have no /proc")
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Runs `argv0` inside the chroot (chroot(8) execs it with PATH=/bin, so a bare name is found
    /// there and reaches the launcher as that bare name).
    private func runInChroot(_ argv0: String, _ args: [String] = []) throws -> Harness.Output {
        try Harness.run(
            "/usr/sbin/chroot", [root, argv0] + args, env: ["PATH": "/bin", "PROBE_LAUNCHER_CACHE_DIR": "/cache"])
    }

    func testLaunchesInAChrootWithoutProcByAbsolutePath() throws {
        let o = try runInChroot("/bin/probe-app", ["one", "two"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("arg[one]\narg[two]\n"), o.stdout)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_EXE=/bin/probe-app\n"), o.stdout)
        // The layer was extracted into the chroot's cache, and a second run uses it.
        let again = try runInChroot("/bin/probe-app")
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    func testFindsItselfThroughPATHWithoutProc() throws {
        let o = try runInChroot("probe-app", ["x"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("arg[x]\n"), o.stdout)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_EXE=/bin/probe-app\n"), o.stdout)
    }

    func testRelativeArgv0IsMadeAbsoluteWithoutProc() throws {
        // chroot(8) starts in the new root, so ./bin/probe-app is relative to "/".
        let o = try runInChroot("./bin/probe-app")
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_EXE=/./bin/probe-app\n"), o.stdout)
    }

    /// PATH is searched in order: a directory without the name (or missing) is skipped.
    func testPATHSearchSkipsDirectoriesWithoutTheName() throws {
        try FileManager.default.createDirectory(atPath: root + "/sbin", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: root + "/bin/probe-app", toPath: root + "/sbin/probe-app")
        let o = try Harness.run(
            "/usr/sbin/chroot", [root, "probe-app"],
            env: ["PATH": "/missing:/bin:/sbin", "PROBE_LAUNCHER_CACHE_DIR": "/cache"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_EXE=/sbin/probe-app\n"), o.stdout)
    }

    /// As a shell does, the PATH search takes only a regular file: an executable-looking directory
    /// or FIFO of the same name earlier on PATH is passed over (a FIFO would hang the open).
    func testPATHSearchSkipsDirectoriesAndFIFOsOfTheSameName() throws {
        try FileManager.default.createDirectory(atPath: root + "/d1/probe-app", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/f1", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(root + "/f1/probe-app", 0o755), 0)
        let o = try Harness.run(
            "/usr/sbin/chroot", [root, "probe-app"],
            env: ["PATH": "/d1:/f1:/bin", "PROBE_LAUNCHER_CACHE_DIR": "/cache"],
            timeout: 60)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains("PROBE_LAUNCHER_BUNDLE_EXE=/bin/probe-app\n"), o.stdout)
    }
}
