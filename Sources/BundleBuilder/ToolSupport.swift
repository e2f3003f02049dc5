import Foundation
import BundleCrypto
import BundleFormat

// Pieces shared by the packager's command-line tools (bundle-append, an app's build tool).

/// The version the packager's tools print for `--version`, with the bundle
/// format they write (docs/format.md).
public enum ToolVersion {
    public static let number = "0.4.0"
    public static var text: String { "\(number) (bundle format \(Trailer.currentVersion))" }
}

/// Reads a whole text file, naming what it was on failure.
public func readText(_ path: String, what: String) throws(BuildError) -> String {
    let bytes: [UInt8]
    do { bytes = try FileBytes.read(path) } catch { throw BuildError("cannot read \(what) \(path): \(error.message)") }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw BuildError("cannot read \(what) \(path): not UTF-8 text")
    }
    return text
}

/// Whole-file reads through open/read, so a failure reads like every other tool's:
/// `strerror(errno)` ("No such file or directory"), not a Foundation sentence.
public enum FileBytes {
    public struct Failure: Error { public let message: String }

    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(message: String(cString: strerror(errno))) }
        if st.st_mode & S_IFMT == S_IFDIR { throw Failure(message: String(cString: strerror(EISDIR))) }
        var out: [UInt8] = []
        out.reserveCapacity(Int(max(st.st_size, 0)))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(message: String(cString: strerror(errno))) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// One voice for errors that come from Foundation: the POSIX error behind them as strerror
/// prints it ("Permission denied"), never "The operation could not be completed..." with a
/// curly apostrophe.
public func errorText(_ error: Error) -> String {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(u.code)))
    }
    if ns.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
        case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
        case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
        case .fileWriteFileExists: return String(cString: strerror(EEXIST))
        case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
        case .fileReadTooLarge: return String(cString: strerror(EFBIG))
        default: break
        }
    }
    return ns.localizedDescription.replacingOccurrences(of: "\u{2019}", with: "'")
}

public enum KeyLoading {
    /// Loads a minisign secret key. An encrypted key's password comes from
    /// `$BUNDLE_APPEND_PASSWORD`, then `--password-file`, then a terminal prompt.
    public static func secretKey(path: String, passwordFile: String?) throws(BuildError) -> SecretKey {
        let text = try readText(path, what: "secret key")
        if (try? PublicKey(fileContents: text)) != nil {
            throw BuildError("\(path) is a public key; signing needs the secret key (the .key file beside it)")
        }
        let plain = Result { () throws(BundleError) in try SecretKey(fileContents: text, password: nil) }
        if case .success(let key) = plain { return key }
        if case .failure(let e) = plain, e.code != .passwordNeeded { throw BuildError("\(path): \(e.message)") }
        let password = try readPassword(path: path, passwordFile: passwordFile)
        switch Result(catching: { () throws(BundleError) in try SecretKey(fileContents: text, password: password) }) {
        case .success(let key): return key
        case .failure(let e): throw BuildError("\(path): \(e.message)")
        }
    }

    /// Loads a minisign public key; a secret key in its place (an easy slip: k.key beside
    /// k.pub) is named as such instead of "not minisign Ed25519 format".
    public static func publicKey(path: String) throws(BuildError) -> PublicKey {
        let text = try readText(path, what: "public key")
        switch Result(catching: { () throws(BundleError) in try PublicKey(fileContents: text) }) {
        case .success(let key): return key
        case .failure(let e):
            let secret = Result { () throws(BundleError) in try SecretKey(fileContents: text, password: nil) }
            if case .success = secret {
                throw BuildError("\(path) is a secret key; verifying needs the public key (the .pub file beside it)")
            }
            if case .failure(let s) = secret, s.code == .passwordNeeded {
                throw BuildError(
                    "\(path) is an encrypted secret key; verifying needs the public key (the .pub file beside it)")
            }
            throw BuildError("\(path): \(e.message)")
        }
    }

    private static func readPassword(path: String, passwordFile: String?) throws(BuildError) -> String {
        if let env = ProcessInfo.processInfo.environment["BUNDLE_APPEND_PASSWORD"] { return env }
        if let passwordFile {
            return String(
                try readText(passwordFile, what: "password file").split(
                    separator: "\n", omittingEmptySubsequences: false
                ).first ?? "")
        }
        if isatty(0) == 1, let p = getpass("Password for \(path): ") { return String(cString: p) }
        throw BuildError("\(path) is encrypted: set BUNDLE_APPEND_PASSWORD or pass --password-file")
    }
}

public enum StubLocation {
    /// The launcher stub for `target` when no `--stub` is given, first found of:
    /// `$BUNDLE_APPEND_STUB` (only for the default target, linux-x64: one file cannot serve every
    /// target), then `stubs/<target>/bundle-stub` (`bundle-stub.exe` for windows-x64) in
    /// `<dir>`, `<dir>/..` and `<dir>/../lib/bundle-append`, where `<dir>` is the directory of
    /// this executable with every symlink resolved. `<dir>` itself is where the Makefile's
    /// `stubs`, `stubs-arm64` and `stubs-windows` targets put them in a source build; `<dir>/..`
    /// is the release archive's layout (`bin/bundle-append` beside `stubs/`), so a symlink such as
    /// `/usr/local/bin/bundle-append` to the unpacked archive finds them; `../lib/bundle-append`
    /// is for a packager installing into /usr. No launcher is built for the macOS targets yet: for
    /// them this finds nothing unless one was put there, and says so.
    public static func `default`(for target: BuildTarget = .default) throws(BuildError) -> String {
        if target == .default, let env = ProcessInfo.processInfo.environment["BUNDLE_APPEND_STUB"], !env.isEmpty {
            return env
        }
        let found = located(for: target)
        let candidates = found.map(\.path)
        var skipped: [String] = []
        for (c, toolDir) in found where FileManager.default.isExecutableFile(atPath: c) {
            // The stub becomes the launcher of what the user signs: one another user could have put
            // there (a tool unpacked into /tmp finds /tmp/stubs) is skipped, and the message says why.
            if let problem = untrusted(c, toolDirectory: toolDir) {
                skipped.append("\(c) (\(problem))")
                continue
            }
            return c
        }
        throw BuildError(notFoundMessage(target: target, looked: candidates, skipped: skipped))
    }

    /// Why a stub found beside the tool cannot be trusted, or nil: the file and every directory
    /// above it (symlinks resolved), up to the first that also holds the tool, must be owned by root
    /// or by us, and not writable by every user; a sticky directory (/tmp) may be, since others
    /// cannot replace what we or root own in it. The directories that hold the tool too are not
    /// judged: whoever controls them can replace the tool itself, so a stub there gives them
    /// nothing more (and a clone owned by a CI runner's user, built as root, stays usable).
    static func untrusted(_ path: String, toolDirectory: String) -> String? {
        guard let resolved = realpath(path, nil) else { return "cannot resolve it" }
        var current = String(cString: resolved)
        free(resolved)
        let tool = toolDirectory.hasSuffix("/") ? toolDirectory : toolDirectory + "/"
        let uid = geteuid()
        while !tool.hasPrefix(current == "/" ? "/" : current + "/") {
            var st = stat()
            guard lstat(current, &st) == 0 else { return "\(current): \(String(cString: strerror(errno)))" }
            guard st.st_uid == 0 || st.st_uid == uid else {
                return "\(current) is owned by uid \(st.st_uid), not by you or root"
            }
            let sticky = st.st_mode & S_IFMT == S_IFDIR && st.st_mode & S_ISVTX != 0
            if !sticky && st.st_mode & 0o002 != 0 {
                return "\(current) is writable by every user"
            }
            if current == "/" { return nil }
            current = (current as NSString).deletingLastPathComponent
            if current.isEmpty { current = "/" }
        }
        return nil
    }

    /// The paths `default(for:)` tries after `$BUNDLE_APPEND_STUB`, in order, without repeats.
    public static func candidates(for target: BuildTarget) -> [String] { located(for: target).map(\.path) }

    /// Each candidate with the directory of the tool it was found from (symlinks resolved).
    static func located(for target: BuildTarget) -> [(path: String, toolDirectory: String)] {
        var dirs: [URL] = []
        // /proc/self/exe is the running file whatever argv[0] says; argv[0] is the fallback where
        // /proc is not mounted (a chroot). Both are resolved through every symlink.
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dirs.append(URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let me = invokedPath() {
            dirs.append(URL(fileURLWithPath: me).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        let relative = "stubs/\(target.name)/" + fileName(target)
        var candidates: [(path: String, toolDirectory: String)] = []
        for dir in dirs {
            for prefix in ["", "../", "../lib/bundle-append/"] {
                let path = dir.appendingPathComponent(prefix + relative).standardizedFileURL.path
                if !candidates.contains(where: { $0.path == path }) {
                    candidates.append((path, dir.standardizedFileURL.path))
                }
            }
        }
        return candidates
    }

    /// argv[0] as a path: as given when it holds a `/`, else the first executable of that name on
    /// `$PATH` (a shell that found the tool there passes the bare name).
    static func invokedPath() -> String? {
        guard let arg0 = CommandLine.arguments.first, !arg0.isEmpty else { return nil }
        if arg0.contains("/") { return arg0 }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = String(dir) + "/" + arg0
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// One line naming every way out: the paths looked at, `--stub`, `$BUNDLE_APPEND_STUB` where it
    /// applies, and the Makefile target for a source build.
    static func notFoundMessage(target: BuildTarget, looked: [String], skipped: [String] = []) -> String {
        let refused = skipped.isEmpty ? "" : "; skipped \(skipped.joined(separator: ", "))"
        let head =
            "cannot find the \(target.name) launcher stub (looked for \(looked.joined(separator: ", "))\(refused))"
        guard let make = makeTarget(target) else {
            return head + ": no \(target.name) launcher is built yet (docs/platforms.md); pass one with --stub FILE"
        }
        let env = target == .default ? ", set BUNDLE_APPEND_STUB=FILE" : ""
        return head
            + "; pass --stub FILE\(env), unpack the release archive with its stubs/ directory beside bin/, or in a source tree build it with 'make \(make)'"
    }

    /// The stub's file name in `stubs/<target>/`: Windows runs only files named `.exe` by default.
    public static func fileName(_ target: BuildTarget) -> String {
        target.os == .windows ? "bundle-stub.exe" : "bundle-stub"
    }

    /// The Makefile target that builds the stub for `target`, or nil when none does yet.
    public static func makeTarget(_ target: BuildTarget) -> String? {
        switch target {
        case .linuxX64: return "stubs"
        case .linuxArm64: return "stubs-arm64"
        case .windowsX64: return "stubs-windows"
        case .macosX64, .macosArm64: return nil
        }
    }
}

/// A one-line progress bar on stderr, only on a terminal, redrawn at most 10 times a second.
public final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let label: String
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    public init(enabled: Bool, label: String) { self.enabled = enabled; self.label = label }

    public func update(_ done: UInt64, _ total: UInt64) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(
            "\r\(label) [\(bar)] \(Int(fraction * 100))% \(formatBytes(done))/\(formatBytes(total))\u{1B}[K".data(
                using: .utf8)!)
        drawn = true
    }

    public func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
    }
}

public func formatBytes(_ n: UInt64) -> String {
    if n < 1024 { return "\(n) B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var v = Double(n) / 1024
    var u = 0
    while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
    return String(format: "%.1f %@", v, units[u])
}

/// The directory part of a path, without `NSString.deletingLastPathComponent`: this toolchain's
/// Foundation (swift-corelibs-foundation of Swift 6.3.1) traps on a one-character relative name,
/// so `bundle-append build spec.toml -o b` crashed instead of writing `./b`.
public enum PathText {
    /// "" for a bare name (`b`), "/" for a name in the root (`/b`), else everything before the last
    /// slash (`a/b` → `a`); trailing slashes are ignored (`a/b/` → `a`), as NSString does.
    public static func directory(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "" }
        if slash == p.startIndex { return "/" }
        var dir = p[..<slash]
        while dir.count > 1, dir.hasSuffix("/") { dir = dir.dropLast() }
        return String(dir)
    }
}
