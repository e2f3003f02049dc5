import Foundation
import BundleBuilder

/// Runs the pipeline's external tools (pip, bun, go, pyinstaller) with an explicit environment.
/// Their output goes to the step's log file; on failure the log's last lines are shown, so one
/// failing compiler does not bury the error under pages of progress output.
struct Shell {
    var log: String
    var verbose: Bool

    @discardableResult
    func run(
        _ program: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:],
        capture: Bool = false
    ) throws(BuildError) -> String {
        let program = try Shell.which(program)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        let line = ([program] + args).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        appendLog("$ \(line)\n")
        if verbose { FileHandle.standardError.write(Data("  $ \(line)\n".utf8)) }
        do { try p.run() } catch { throw BuildError("cannot run \(program): \(errorText(error))") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        appendLog(text)
        if verbose { FileHandle.standardError.write(data) }
        guard p.terminationStatus == 0 else {
            let tail = text.split(separator: "\n").suffix(15).joined(separator: "\n")
            throw BuildError(
                "\((program as NSString).lastPathComponent) failed (status \(p.terminationStatus)); last lines:\n\(tail)\nfull log: \(log)"
            )
        }
        return capture ? text : ""
    }

    /// A program name without a slash is looked up in PATH, as a shell would.
    static func which(_ program: String) throws(BuildError) -> String {
        if program.contains("/") { return program }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw BuildError("\(program) not found in PATH")
    }

    private func appendLog(_ s: String) {
        guard let h = FileHandle(forWritingAtPath: log) else {
            // The log is an aid for reading failures; a command's own result is checked by its caller.
            _ = FileManager.default.createFile(atPath: log, contents: Data(s.utf8))
            return
        }
        h.seekToEndOfFile()
        h.write(Data(s.utf8))
        try? h.close()
    }
}
