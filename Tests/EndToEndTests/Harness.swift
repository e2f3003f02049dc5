import Foundation
import XCTest

/// Runs the built products (`bundle-append`, `dgmo-stub`) and bundles made with them.
/// `make test` builds them first (`swift build`); `BUNDLE_BIN_DIR` overrides where they are.
enum Harness {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let binDir: String = {
        if let d = ProcessInfo.processInfo.environment["BUNDLE_BIN_DIR"] { return d }
        return packageRoot.appendingPathComponent(".build/debug").path
    }()

    static var tool: String { binDir + "/bundle-append" }
    static var stub: String { binDir + "/dgmo-stub" }

    struct Output {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
        var pid: Int32
    }

    /// Runs a program with a clean, explicit environment and waits for it (with a timeout).
    @discardableResult
    static func run(_ program: String, _ args: [String] = [], env: [String: String] = [:], cwd: String? = nil,
                    timeout: TimeInterval = 120, stdin: String? = nil) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        // Output goes to files, not pipes: a chatty child can never block on a full pipe.
        let base = NSTemporaryDirectory() + "e2e-out-" + UUID().uuidString
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer { unlink(base + ".out"); unlink(base + ".err") }
        let out = FileHandle(forWritingAtPath: base + ".out")!, err = FileHandle(forWritingAtPath: base + ".err")!
        p.standardOutput = out
        p.standardError = err
        if let stdin {
            FileManager.default.createFile(atPath: base + ".in", contents: Data(stdin.utf8))
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
        return Output(status: p.terminationStatus, reason: p.terminationReason,
                      stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self), pid: pid)
    }

    /// Runs `bundle-append` and fails the test if it does not exit 0.
    @discardableResult
    static func tool(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        let o = try run(tool, args, env: env)
        XCTAssertEqual(o.status, 0, "bundle-append \(args.joined(separator: " ")) failed: \(o.stderr)", file: file, line: line)
        return o
    }

    static func makeTempDir() throws -> String {
        let dir = NSTemporaryDirectory() + "e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The static C probe program (Tests/Fixtures/probe.c), compiled once per test run.
    static let probeBinary: String = {
        let dir = NSTemporaryDirectory() + "e2e-probe-" + String(getpid())
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let out = dir + "/probe"
        let src = packageRoot.appendingPathComponent("Tests/Fixtures/probe.c").path
        let r = try? run("/usr/bin/gcc", ["-static", "-O2", "-o", out, src])
        precondition(r?.status == 0, "cannot compile the probe: \(r?.stderr ?? "gcc missing")")
        return out
    }()

    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode_t(mode))
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func writeBytes(_ b: [UInt8], to path: String) throws {
        try Data(b).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
    }
}
