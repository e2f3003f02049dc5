import Foundation
import XCTest

/// What a program run by `ProcessRunner.run` did.
public struct ProcessOutput {
    public var status: Int32
    public var reason: Process.TerminationReason
    public var stdout: String
    public var stderr: String
    public var pid: Int32
}

/// A test's set-up could not be done (a file it needs could not be made); names what.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs programs for tests and collects what they print.
public enum ProcessRunner {
    /// Runs `program` with `args` and waits for it; after `timeout` seconds it is terminated and
    /// the test fails. `environment` nil: the test's own; `stdin` nil: /dev/null. Output goes to
    /// files, not pipes, so a chatty child never blocks on a full pipe.
    public static func run(
        _ program: String, _ args: [String] = [], environment: [String: String]? = nil, cwd: String? = nil,
        timeout: TimeInterval = 600, stdin: String? = nil
    ) throws -> ProcessOutput {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        if let environment { p.environment = environment }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let base = NSTemporaryDirectory() + "test-out-" + UUID().uuidString
        try createFile(base + ".out")
        try createFile(base + ".err")
        defer { unlink(base + ".out"); unlink(base + ".err") }
        guard let out = FileHandle(forWritingAtPath: base + ".out"),
            let err = FileHandle(forWritingAtPath: base + ".err")
        else {
            throw TestSetupError(description: "cannot open \(base).out/.err")
        }
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            try createFile(base + ".in", Data(stdin.utf8))
            p.standardInput = FileHandle(forReadingAtPath: base + ".in")
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        defer { unlink(base + ".in") }
        try p.run()
        let pid = p.processIdentifier
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(2000) }
        if p.isRunning { p.terminate(); XCTFail("\(program) timed out after \(timeout) s") }
        p.waitUntilExit()
        try? out.close(); try? err.close()
        let outData = FileManager.default.contents(atPath: base + ".out") ?? Data()
        let errData = FileManager.default.contents(atPath: base + ".err") ?? Data()
        return ProcessOutput(
            status: p.terminationStatus, reason: p.terminationReason,
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self), pid: pid
        )
    }

    /// Creates (or truncates) a file, or throws naming it.
    public static func createFile(_ path: String, _ contents: Data = Data(), mode: Int = 0o644) throws {
        guard FileManager.default.createFile(atPath: path, contents: contents, attributes: [.posixPermissions: mode])
        else {
            throw TestSetupError(description: "cannot create \(path)")
        }
    }
}

/// Asserts that a run failed the way a command-line tool should: exit status `status` and one
/// line on stderr naming `needle` (the kind of error, not just "something failed").
public func assertFailed(
    _ o: ProcessOutput, status: Int32, mentioning needle: String, _ context: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let what = context()
    XCTAssertEqual(o.status, status, "\(what) stdout: \(o.stdout) stderr: \(o.stderr)", file: file, line: line)
    XCTAssertTrue(o.stderr.contains(needle), "\(what) '\(o.stderr)' should mention '\(needle)'", file: file, line: line)
    XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, "\(what) one line: \(o.stderr)", file: file, line: line)
}
