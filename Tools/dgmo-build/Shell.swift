import Foundation
import BundleBuilder

/// Runs the pipeline's external tools (pip, bun, go, pyinstaller) with an explicit environment.
/// Their output goes to the step's log file; on failure the log's last lines are shown, so one
/// failing compiler does not bury the error under pages of progress output.
struct Shell {
    var log: String
    var verbose: Bool

    @discardableResult
    func run(_ program: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:],
             capture: Bool = false) throws(BuildError) -> String {
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
            throw BuildError("\((program as NSString).lastPathComponent) failed (status \(p.terminationStatus)); last lines:\n\(tail)\nfull log: \(log)")
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

/// Small file-system helpers that turn Foundation's errors into one-line `BuildError`s.
enum Files {
    static let fm = FileManager.default

    static func exists(_ p: String) -> Bool { fm.fileExists(atPath: p) }

    static func isDirectory(_ p: String) -> Bool {
        var d: ObjCBool = false
        return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }

    static func mkdir(_ p: String) throws(BuildError) {
        do { try fm.createDirectory(atPath: p, withIntermediateDirectories: true) }
        catch { throw BuildError("cannot create \(p): \(errorText(error))") }
    }

    /// Removes and recreates a directory, so a step never mixes old and new outputs.
    static func fresh(_ p: String) throws(BuildError) {
        if exists(p) {
            do { try fm.removeItem(atPath: p) } catch { throw BuildError("cannot remove \(p): \(errorText(error))") }
        }
        try mkdir(p)
    }

    static func copy(_ from: String, _ to: String) throws(BuildError) {
        try mkdir((to as NSString).deletingLastPathComponent)
        if exists(to) { try? fm.removeItem(atPath: to) }
        do { try fm.copyItem(atPath: from, toPath: to) }
        catch { throw BuildError("cannot copy \(from) to \(to): \(errorText(error))") }
    }

    static func write(_ text: String, to p: String, mode: mode_t = 0o644) throws(BuildError) {
        try mkdir((p as NSString).deletingLastPathComponent)
        try BundleBuild.writeAtomically(Array(text.utf8), to: p, mode: mode)
    }

    static func list(_ p: String) throws(BuildError) -> [String] {
        do { return try fm.contentsOfDirectory(atPath: p).sorted() }
        catch { throw BuildError("cannot list \(p): \(errorText(error))") }
    }

    /// Every regular file and symlink under `root`, as sorted relative paths.
    static func walk(_ root: String) -> [String] {
        guard let e = fm.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0 else { continue }
            let type = st.st_mode & S_IFMT
            if type == S_IFREG || type == S_IFLNK { out.append(rel) }
        }
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

/// SHA-256 as `sha256sum` prints it (the checksums file is for people and their tools, so it
/// uses the digest they already have; the bundle itself uses BLAKE2b). One call per directory.
enum SHA256Sum {
    /// Lines `<hex>  <prefix><relative path>` for every file under `root`.
    static func lines(root: String, prefix: String, shell: Shell) throws(BuildError) -> [String] {
        let files = Files.walk(root)
        guard !files.isEmpty else { return [] }
        let out = try shell.run("/usr/bin/sha256sum", ["--"] + files, cwd: root, capture: true)
        var lines: [String] = []
        for text in out.split(separator: "\n") {
            guard let line = SHA256SumLine(text) else { throw BuildError("sha256sum printed an unexpected line: \(text)") }
            lines.append("\(line.digest)  \(prefix)\(line.name)")
        }
        return lines
    }
}
