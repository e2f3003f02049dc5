import Foundation
import XCTest

/// Signals to a DGMO command reach the processes it started (issue 15, item 8): `kill -TERM` on
/// `dgmo watch` or `dgmo supervise` leaves no Go component (or supervised command) running under
/// PID 1, and when dgmo is killed outright (SIGKILL, nothing can be passed on) the components
/// notice they were orphaned and stop.
final class SignalTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        try Harness.requireDGMOBinary()
        dir = try Harness.makeTempDir()
        try FileManager.default.createDirectory(atPath: dir + "/watched", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Every process whose parent chain leads to `pid` (from /proc), with its command line.
    func descendants(of pid: Int32) -> [(pid: Int32, cmd: String)] {
        var parent: [Int32: Int32] = [:], cmd: [Int32: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let p = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 1, fields[0] != "Z", let pp = Int32(fields[1]) else { continue }
            parent[p] = pp
            cmd[p] =
                (try? String(contentsOfFile: "/proc/\(name)/cmdline", encoding: .utf8))?.replacingOccurrences(
                    of: "\0", with: " ") ?? ""
        }
        return parent.keys.filter {
            var p = $0; while let pp = parent[p], pp > 1 { if pp == pid { return true }; p = pp }; return false
        }
        .sorted().map { ($0, cmd[$0] ?? "") }
    }

    func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    /// Starts dgmo with `args`, waits until a descendant runs that is `marker` (a command line that
    /// starts with it, or the Go component of that name), sends `signal` to dgmo, and checks that dgmo
    /// and everything it started are gone.
    func assertSignalReachesChildren(
        _ args: [String], marker: String, signal: Int32, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DGMOTests.binary)
        p.arguments = args
        p.environment = ["DGMO_CACHE_DIR": dir + "/cache", "PATH": "/usr/bin:/bin", "HOME": dir]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let pid = p.processIdentifier
        var started: [(pid: Int32, cmd: String)] = []
        let deadline = Date().addingTimeInterval(120)  // a cold start extracts the layers first
        while Date() < deadline {
            started = descendants(of: pid)
            if started.contains(where: { $0.cmd.hasPrefix(marker) || $0.cmd.contains("/native/" + marker + " ") }) {
                break
            }
            usleep(50_000)
        }
        XCTAssertTrue(
            started.contains { $0.cmd.hasPrefix(marker) || $0.cmd.contains("/native/" + marker + " ") },
            "\(marker) started under dgmo: \(started)", file: file, line: line)
        kill(pid, signal)
        p.waitUntilExit()
        // The children stop on their own time (the orphan check runs every 0.5 s).
        let gone = Date().addingTimeInterval(20)
        while Date() < gone && started.contains(where: { isAlive($0.pid) }) { usleep(50_000) }
        for child in started where isAlive(child.pid) {
            XCTFail("still running after \(signal) to dgmo: \(child.pid) \(child.cmd)", file: file, line: line)
            kill(child.pid, SIGKILL)
        }
    }

    func testTermOnWatchStopsTheGoWatcher() throws {
        try assertSignalReachesChildren(
            ["watch", "--interval", "200ms", dir + "/watched"], marker: "file-watcher", signal: SIGTERM)
    }

    func testTermOnSuperviseStopsTheManagerAndItsCommand() throws {
        try assertSignalReachesChildren(
            ["supervise", "--", "/bin/sleep", "1000"], marker: "/bin/sleep 1000", signal: SIGTERM)
    }

    func testIntOnWatchStopsTheGoWatcher() throws {
        try assertSignalReachesChildren(["watch", dir + "/watched"], marker: "file-watcher", signal: SIGINT)
    }

    func testKillOnDgmoStillLeavesNoOrphans() throws {
        try assertSignalReachesChildren(
            ["supervise", "--", "/bin/sleep", "1001"], marker: "/bin/sleep 1001", signal: SIGKILL)

        try assertSignalReachesChildren(
            ["watch", "--interval", "200ms", dir + "/watched"], marker: "file-watcher", signal: SIGKILL)
    }

    /// dgmo killed before its component even started (the launcher was still extracting): the
    /// component's parent is then not the dgmo named in DGMO_PARENT_PID, and it stops at once.
    func testAComponentStartedAfterDgmoDiedStops() throws {
        for (entry, args) in [
            ("dgmo-process-manager", ["--", "/bin/sleep", "1003"]),
            ("dgmo-file-watcher", ["--interval", "100ms", dir + "/watched"]),
        ] {
            let started = Date()
            let o = try Harness.run(
                DGMOTests.binary, args,
                env: [
                    "DGMO_CACHE_DIR": dir + "/cache", "DGMO_ENTRY": entry,
                    "DGMO_PARENT_PID": String(getpid() == 1 ? 2 : 1),
                ], timeout: 120)
            XCTAssertLessThan(Date().timeIntervalSince(started), 60, entry)
            XCTAssertNotEqual(o.reason, .uncaughtSignal, entry)
        }
        usleep(500_000)
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { name in
            Int32(name) != nil
                && ((try? String(contentsOfFile: "/proc/\(name)/cmdline", encoding: .utf8)) ?? "").hasPrefix(
                    "/bin/sleep\u{0}1003")
        }
        XCTAssertEqual(left, [], "the supervised command stopped too")
        for pid in left { kill(Int32(pid)!, SIGKILL) }
    }
}
