#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import CLinux

/// One wrapper per libc call. EINTR is retried here and only here; `close` is never
/// retried (on Linux the descriptor is gone even when close reports EINTR).
public enum Sys {
    /// The one EINTR rule: a call that fails with EINTR is made again; any other failure becomes
    /// a `BundleError.system` carrying errno as read right after the call.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ call: String, _ subject: String, _ body: () -> T) throws(BundleError) -> T {
        while true {
            let r: T
            if let injected = injectedFailure(call, subject) { r = -1; errno = injected } else { r = body() }
            if r != -1 { return r }
            let e = errno
            if e != EINTR { throw BundleError.system(call, subject, errno: e) }
        }
    }

    #if DEBUG
    /// Test-only failure injection (debug builds only; a release stub has no such hook): called
    /// with the call's name (`open`, `mkdir`, `rename`, `write`, ...) and its subject before each
    /// attempt; an errno it returns is reported as that attempt's failure, nil lets the call run.
    public nonisolated(unsafe) static var failureInjection: ((String, String) -> Int32?)? = nil
    @inline(__always)
    static func injectedFailure(_ call: String, _ subject: String) -> Int32? { failureInjection?(call, subject) }
    #else
    @inline(__always)
    static func injectedFailure(_ call: String, _ subject: String) -> Int32? { nil }
    #endif

    /// Passes `name` (bytes, no NUL) to a C call as a NUL-terminated string, without a UTF-8 round trip.
    @inline(__always)
    public static func withCName<R>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        var z = name
        z.append(0)
        return z.withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    /// A name for messages (never used as a path).
    public static func displayName(_ name: [UInt8]) -> String { String(decoding: name, as: UTF8.self) }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(BundleError) -> Int32 {
        try retrying("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func openat(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0) throws(BundleError) -> Int32 {
        try retrying("open", name) { Glibc.openat(dirfd, name, flags | O_CLOEXEC, mode) }
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public static func fstat(_ fd: Int32) throws(BundleError) -> stat {
        var st = stat()
        _ = try retrying("fstat", "") { Glibc.fstat(fd, &st) }
        return st
    }

    /// `fstatat` without following a final symlink. Returns nil when the name does not exist.
    public static func lstatat(_ dirfd: Int32, _ name: String) throws(BundleError) -> stat? {
        var st = stat()
        if Glibc.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        let e = errno
        if e == ENOENT { return nil }
        throw BundleError.system("stat", name, errno: e)
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws (a short file is an error).
    public static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, what: String) throws(BundleError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n > 0 { done += n; continue }
            if n == 0 { throw BundleError(.truncated, "\(what) is truncated") }
            let e = errno
            if e == EINTR { continue }
            throw BundleError.system("read", what, errno: e)
        }
    }

    public static func pread(_ fd: Int32, count: Int, at offset: UInt64, what: String) throws(BundleError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try withMutableBytes(&out) { (b) throws(BundleError) in try preadFully(fd, b, at: offset, what: what) }
        return out
    }

    /// Writes all of `buffer`; short writes are normal and continued.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, what: String) throws(BundleError) {
        var done = 0
        while done < buffer.count {
            let n: Int
            if let injected = injectedFailure("write", what) { n = -1; errno = injected } else { n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done) }
            if n >= 0 { done += n; continue }
            let e = errno
            if e != EINTR { throw BundleError.system("write", what, errno: e) }
        }
    }

    public static func mkdirat(_ dirfd: Int32, _ name: String, _ mode: mode_t) throws(BundleError) {
        _ = try retrying("mkdir", name) { Glibc.mkdirat(dirfd, name, mode) }
    }

    public static func symlinkat(_ target: String, _ dirfd: Int32, _ name: String) throws(BundleError) {
        _ = try retrying("symlink", name) { Glibc.symlinkat(target, dirfd, name) }
    }

    public static func fchmod(_ fd: Int32, _ mode: mode_t, what: String) throws(BundleError) {
        _ = try retrying("chmod", what) { Glibc.fchmod(fd, mode) }
    }

    public static func renameat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) throws(BundleError) {
        _ = try retrying("rename", to) { Glibc.renameat(fromDir, from, toDir, to) }
    }

    public static func unlinkat(_ dirfd: Int32, _ name: String, _ flags: Int32) throws(BundleError) {
        _ = try retrying("unlink", name) { Glibc.unlinkat(dirfd, name, flags) }
    }

    public static func syncfs(_ fd: Int32) throws(BundleError) {
        _ = try retrying("syncfs", "") { clinux_syncfs(fd) }
    }

    // Descriptor-relative calls on names given as bytes (directory entries need not be UTF-8).

    public static func openat(_ dirfd: Int32, _ name: [UInt8], _ flags: Int32, _ mode: mode_t = 0) throws(BundleError) -> Int32 {
        try retrying("open", displayName(name)) { withCName(name) { Glibc.openat(dirfd, $0, flags | O_CLOEXEC, mode) } }
    }

    /// `openat` whose descriptor survives `execve` (a lock the runtime must keep holding).
    public static func openatInherited(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0) throws(BundleError) -> Int32 {
        try retrying("open", name) { Glibc.openat(dirfd, name, flags, mode) }
    }

    /// `fstatat`; `follow: false` does not follow a final symlink. Returns nil when the name does not exist.
    public static func fstatat(_ dirfd: Int32, _ name: [UInt8], follow: Bool) throws(BundleError) -> stat? {
        var st = stat()
        do {
            _ = try retrying("stat", displayName(name)) { withCName(name) { Glibc.fstatat(dirfd, $0, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) } }
        } catch where error.errno == ENOENT {
            return nil
        }
        return st
    }

    public static func mkdirat(_ dirfd: Int32, _ name: [UInt8], _ mode: mode_t) throws(BundleError) {
        _ = try retrying("mkdir", displayName(name)) { withCName(name) { Glibc.mkdirat(dirfd, $0, mode) } }
    }

    public static func unlinkat(_ dirfd: Int32, _ name: [UInt8], _ flags: Int32) throws(BundleError) {
        _ = try retrying("unlink", displayName(name)) { withCName(name) { Glibc.unlinkat(dirfd, $0, flags) } }
    }

    public static func renameat(_ fromDir: Int32, _ from: [UInt8], _ toDir: Int32, _ to: [UInt8]) throws(BundleError) {
        _ = try retrying("rename", displayName(to)) { withCName(from) { f in withCName(to) { t in Glibc.renameat(fromDir, f, toDir, t) } } }
    }

    /// The target of the symlink `name` under `dirfd`, as bytes.
    public static func readlinkat(_ dirfd: Int32, _ name: [UInt8]) throws(BundleError) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try retrying("readlink", displayName(name)) {
            withCName(name) { p in buf.withUnsafeMutableBytes { Glibc.readlinkat(dirfd, p, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) } }
        }
        return Array(buf[0..<n])
    }

    /// Sets the access and modification times of `name` under `dirfd` to now, without following a symlink.
    public static func touchat(_ dirfd: Int32, _ name: String) throws(BundleError) {
        _ = try retrying("utimensat", name) { Glibc.utimensat(dirfd, name, nil, AT_SYMLINK_NOFOLLOW) }
    }

    public static func flock(_ fd: Int32, _ operation: Int32, what: String) throws(BundleError) {
        _ = try retrying("flock", what) { clinux_flock(fd, operation) }
    }

    public static func fstatvfs(_ fd: Int32, what: String) throws(BundleError) -> statvfs {
        var s = statvfs()
        _ = try retrying("statvfs", what) { Glibc.fstatvfs(fd, &s) }
        return s
    }

    /// `faccessat(dirfd, ".", mode)` with the effective ids: can we write in this directory?
    public static func canAccess(_ dirfd: Int32, _ mode: Int32) -> Bool {
        (try? retrying("access", "") { Glibc.faccessat(dirfd, ".", mode, AT_EACCESS) }) != nil
    }

    /// Whether a process exists (signal 0); EPERM means it exists and is someone else's.
    public static func processExists(_ pid: Int32) -> Bool {
        do { _ = try retrying("kill", "") { Glibc.kill(pid, 0) }; return true } catch { return error.errno != ESRCH }
    }

    /// One `read` into `buffer`: the byte count, 0 at the end of the file.
    public static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, what: String) throws(BundleError) -> Int {
        try retrying("read", what) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    // Calls that cannot fail (no errno to read), here so that no module calls libc directly.

    public static func processID() -> Int32 { Glibc.getpid() }
    public static func effectiveUserID() -> uid_t { Glibc.geteuid() }

    /// The real user's home directory from `/etc/passwd` (nil without a readable file or an entry).
    /// Read directly rather than with getpwuid: in a static binary getpwuid would dlopen NSS
    /// modules of the build machine's glibc version at run time. Users known only to a network
    /// directory (LDAP, sssd) are not found here; they have HOME set, which is looked at first.
    public static func passwordDatabaseHome() -> String? {
        guard let fd = try? open("/etc/passwd", O_RDONLY | O_CLOEXEC) else { return nil }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while text.count < PasswdFile.maximumSize {
            let n = chunk.withUnsafeMutableBytes { b in (try? read(fd, b, what: "/etc/passwd")) ?? -1 }
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        return PasswdFile.home(ofUser: getuid(), in: text)
    }

    /// Random bytes for temporary names.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { clinux_getrandom($0.baseAddress! + done, count - done) }
            if n > 0 { done += n } else if errno != EINTR { break }
        }
        return out
    }

    /// The target of a symlink, e.g. `/proc/self/exe`.
    public static func readlink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = Glibc.readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func getenv(_ name: String) -> String? {
        guard let p = Glibc.getenv(name) else { return nil }
        return String(cString: p)
    }
}

extension Sys {
    /// Names in a directory (without `.` and `..`). `dirfd` stays open and owned by the caller.
    public static func listDirectory(_ dirfd: Int32) throws(BundleError) -> [String] {
        let fd = dup(dirfd)
        guard fd >= 0 else { throw BundleError.system("dup", "", errno: errno) }
        guard let dir = fdopendir(fd) else { let e = errno; Sys.close(fd); throw BundleError.system("opendir", "", errno: e) }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while let ent = readdir(dir) {
            let child = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if child != "." && child != ".." { names.append(child) }
        }
        return names
    }

    /// Names in a directory as the bytes the kernel returned (without `.` and `..`), so a name
    /// that is not UTF-8 can still be opened, compared and removed. `dirfd` stays the caller's.
    public static func listDirectoryBytes(_ dirfd: Int32) throws(BundleError) -> [[UInt8]] {
        if let injected = injectedFailure("opendir", "") { throw BundleError.system("opendir", "", errno: injected) }
        let fd = Glibc.dup(dirfd)
        guard fd >= 0 else { throw BundleError.system("dup", "", errno: errno) }
        guard let dir = fdopendir(fd) else { let e = errno; Sys.close(fd); throw BundleError.system("opendir", "", errno: e) }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [[UInt8]] = []
        while let ent = readdir(dir) {
            let child = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                Array(UnsafeRawBufferPointer(start: raw.baseAddress!, count: strlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self))))
            }
            if child != [0x2E] && child != [0x2E, 0x2E] { names.append(child) }
        }
        return names
    }
}

/// The `passwd(5)` format: `name:password:uid:gid:gecos:home:shell`, one user a line.
public enum PasswdFile {
    /// Larger files are read this far only (a password file is a few KiB).
    public static let maximumSize = 4 << 20

    /// The home directory of the first line whose uid is `uid`, if it is an absolute path.
    public static func home(ofUser uid: uid_t, in text: [UInt8]) -> String? {
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard fields.count >= 7, let id = UInt32(String(decoding: fields[2], as: UTF8.self)), id == uid else { continue }
            let home = String(decoding: fields[5], as: UTF8.self)
            return home.hasPrefix("/") ? home : nil
        }
        return nil
    }
}
