import Foundation

/// Standard output of a helper program (git, gcc, dpkg-query, sha256sum) found in PATH,
/// or nil when it cannot start or exits non-zero. stdin and stderr go to /dev/null: these are
/// look-ups, and a missing tool means "unknown", never a failed build.
enum CommandOutput {
    static func run(_ program: String, _ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
