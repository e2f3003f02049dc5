import Foundation

/// Standard output of a helper program (git, gcc, readelf, dpkg-query, sha256sum) found in PATH,
/// or nil when it cannot start or exits non-zero. stdin and stderr go to /dev/null: these are
/// look-ups, and a missing tool means "unknown", never a failed build.
enum CommandOutput {
    static func run(_ program: String, _ args: [String]) -> String? {
        guard let o = output(program, args), o.status == 0 else { return nil }
        return o.stdout
    }

    /// Exit status and standard output, whatever the status (readelf reports one damaged file of
    /// many with status 1, and prints the others); nil only when the program cannot start.
    static func output(_ program: String, _ args: [String]) -> (status: Int32, stdout: String)? {
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
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
