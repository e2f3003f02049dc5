import Foundation
import XCTest

/// A cold first run on a terminal says what it is doing (issue 15, item 7): one line on stderr
/// naming the app and what it prepares, then a progress bar while it goes on; nothing when stderr
/// is not a terminal; never anything on stdout. The terminal is a real pseudo-terminal (`script`
/// from util-linux); the layer is 700 MiB of random bytes stored uncompressed, so that extracting
/// it (hashing and writing every byte) takes well over the 300 ms threshold even on a fast machine.
/// The run is held to one processor (`taskset -c 0`): since format version 3 the frames are hashed on
/// every core, and on two cores the whole extraction can end before the bar's 800 ms.
final class FirstRunNoticeTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        try FileManager.default.createDirectory(atPath: dir + "/big", withIntermediateDirectories: true)
        let head = try Harness.run("/bin/sh", ["-c", "head -c 700M /dev/urandom > '\(dir)/big/blob'"], timeout: 300)
        XCTAssertEqual(head.status, 0, head.stderr)
        try Harness.write(
            "#!/bin/sh\necho app-output\necho app-says-on-stderr >&2\n", to: dir + "/big/run.sh", mode: 0o755)
        try Harness.write(
            """
            [bundle]
            name = "firstrun"
            version = "1.2"
            [layers.big]
            path = "big"
            compression = "none"
            [entries.firstrun]
            exec = ["/bin/sh", "{big}/run.sh"]
            """, to: dir + "/fr.toml")
        try Harness.tool([
            "build", dir + "/fr.toml", "-o", dir + "/firstrun", "--unsigned", "--stub", Harness.stub, "-q",
        ])
        try FileManager.default.removeItem(atPath: dir + "/big/blob")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs the bundle with stderr (and stdin) on a pseudo-terminal and stdout in a file;
    /// returns (what the terminal showed, what stdout got).
    func runOnTerminal(cache: String) throws -> (terminal: String, stdout: String, status: Int32) {
        let command = "FIRSTRUN_LAUNCHER_CACHE_DIR='\(cache)' taskset -c 0 '\(dir)/firstrun' > '\(dir)/stdout.txt'"
        let o = try Harness.run("/usr/bin/script", ["-qefc", command, dir + "/typescript"], timeout: 300)
        let terminal = (try? String(contentsOfFile: dir + "/typescript", encoding: .utf8)) ?? ""
        let stdout = (try? String(contentsOfFile: dir + "/stdout.txt", encoding: .utf8)) ?? ""
        return (terminal, stdout, o.status)
    }

    func testColdRunOnATerminalSaysWhatItPreparesAndShowsProgress() throws {
        let cold = try runOnTerminal(cache: dir + "/c1")
        XCTAssertEqual(cold.status, 0, cold.terminal)
        XCTAssertEqual(cold.stdout, "app-output\n", "stdout gets the app's output only")
        XCTAssertTrue(
            cold.terminal.contains(
                "firstrun: preparing firstrun 1.2 for its first run: unpacking 'big' (700.0 MiB) into \(dir)/c1"),
            cold.terminal)
        XCTAssertEqual(cold.terminal.components(separatedBy: "preparing firstrun").count - 1, 1, "one line")
        XCTAssertTrue(
            cold.terminal.contains("% ") && cold.terminal.contains(" of 700.0 MiB"), "a progress bar: \(cold.terminal)")
        // Erased before the app writes: the last bar drawn is followed by "\r ESC[K" and then, at
        // the start of the (now empty) line, the app's own stderr; nothing of the bar after it.
        let erase = try XCTUnwrap(
            cold.terminal.range(of: "\r\u{1B}[K", options: .backwards),
            "the bar is erased: \(cold.terminal.debugDescription)")
        let app = try XCTUnwrap(cold.terminal.range(of: "app-says-on-stderr"), "the app's stderr reached the terminal")
        XCTAssertEqual(
            erase.upperBound, app.lowerBound,
            "the app writes right after the erase, at column 0: \(cold.terminal.suffix(300).debugDescription)")
        XCTAssertFalse(cold.terminal[app.upperBound...].contains("% "), "no bar after the app started")

        // Warm: nothing to prepare, nothing said.
        let warm = try runOnTerminal(cache: dir + "/c1")
        XCTAssertEqual(warm.stdout, "app-output\n")
        XCTAssertFalse(warm.terminal.contains("preparing"), warm.terminal)
        XCTAssertFalse(
            warm.terminal.contains("\u{1B}["), "no escape sequences on a warm run: \(warm.terminal.debugDescription)")
    }

    func testNothingWhenStderrIsNotATerminal() throws {
        let o = try Harness.run(dir + "/firstrun", [], env: ["FIRSTRUN_LAUNCHER_CACHE_DIR": dir + "/c2"], timeout: 300)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "app-output\n")
        XCTAssertEqual(o.stderr, "app-says-on-stderr\n", "a cold run with stderr in a file prints nothing of its own")
    }
}
