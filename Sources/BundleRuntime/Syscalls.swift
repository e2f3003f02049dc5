#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import CLinux

/// One wrapper per libc call. EINTR is retried here and only here; `close` is never
/// retried (on Linux the descriptor is gone even when close reports EINTR).
public enum Sys {
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ call: String, _ subject: String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let r = body()
            if r != -1 { return r }
            let e = errno
            if e != EINTR { throw SystemError(call, subject, errno: e) }
        }
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retrying("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    public static func openat(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0) throws(SystemError) -> Int32 {
        try retrying("open", name) { Glibc.openat(dirfd, name, flags | O_CLOEXEC, mode) }
    }

    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public static func fstat(_ fd: Int32) throws(SystemError) -> stat {
        var st = stat()
        _ = try retrying("fstat", "") { Glibc.fstat(fd, &st) }
        return st
    }

    /// `fstatat` without following a final symlink. Returns nil when the name does not exist.
    public static func lstatat(_ dirfd: Int32, _ name: String) throws(SystemError) -> stat? {
        var st = stat()
        if Glibc.fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        let e = errno
        if e == ENOENT { return nil }
        throw SystemError("stat", name, errno: e)
    }

    /// Reads exactly `buffer.count` bytes at `offset`, or throws (a short file is an error).
    public static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: UInt64, what: String) throws(RuntimeError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n > 0 { done += n; continue }
            if n == 0 { throw RuntimeError("\(what) is truncated") }
            let e = errno
            if e == EINTR { continue }
            throw RuntimeError(SystemError("read", what, errno: e))
        }
    }

    public static func pread(_ fd: Int32, count: Int, at offset: UInt64, what: String) throws(RuntimeError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try withMutableBytes(&out) { (b) throws(RuntimeError) in try preadFully(fd, b, at: offset, what: what) }
        return out
    }

    /// Writes all of `buffer`; short writes are normal and continued.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, what: String) throws(SystemError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n >= 0 { done += n; continue }
            let e = errno
            if e != EINTR { throw SystemError("write", what, errno: e) }
        }
    }

    public static func mkdirat(_ dirfd: Int32, _ name: String, _ mode: mode_t) throws(SystemError) {
        _ = try retrying("mkdir", name) { Glibc.mkdirat(dirfd, name, mode) }
    }

    public static func symlinkat(_ target: String, _ dirfd: Int32, _ name: String) throws(SystemError) {
        _ = try retrying("symlink", name) { Glibc.symlinkat(target, dirfd, name) }
    }

    public static func fchmod(_ fd: Int32, _ mode: mode_t, what: String) throws(SystemError) {
        _ = try retrying("chmod", what) { Glibc.fchmod(fd, mode) }
    }

    public static func renameat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) throws(SystemError) {
        _ = try retrying("rename", to) { Glibc.renameat(fromDir, from, toDir, to) }
    }

    public static func unlinkat(_ dirfd: Int32, _ name: String, _ flags: Int32) throws(SystemError) {
        _ = try retrying("unlink", name) { Glibc.unlinkat(dirfd, name, flags) }
    }

    public static func syncfs(_ fd: Int32) throws(SystemError) {
        _ = try retrying("syncfs", "") { clinux_syncfs(fd) }
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
    public static func listDirectory(_ dirfd: Int32) throws(SystemError) -> [String] {
        let fd = dup(dirfd)
        guard fd >= 0 else { throw SystemError("dup", "", errno: errno) }
        guard let dir = fdopendir(fd) else { let e = errno; Sys.close(fd); throw SystemError("opendir", "", errno: e) }
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
}

/// Removes a directory tree below `dirfd` without following symlinks: a name is deleted,
/// never what it points to. Used for abandoned temporary extractions.
public func removeTree(_ dirfd: Int32, _ name: String) throws(SystemError) {
    guard let st = try Sys.lstatat(dirfd, name) else { return }
    if st.st_mode & S_IFMT != S_IFDIR {
        try Sys.unlinkat(dirfd, name, 0)
        return
    }
    let fd = try Sys.openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    defer { Sys.close(fd) }
    // Make sure we may delete inside it even if the layer recorded a read-only directory.
    _ = Glibc.fchmod(fd, 0o700)
    for child in try Sys.listDirectory(fd) { try removeTree(fd, child) }
    try Sys.unlinkat(dirfd, name, AT_REMOVEDIR)
}

/// Bytes a tree occupies on disk (allocated blocks), without following symlinks.
public func diskUsage(_ dirfd: Int32, _ name: String) -> UInt64 {
    guard let st = try? Sys.lstatat(dirfd, name) else { return 0 }
    var total = UInt64(st.st_blocks) * 512
    guard st.st_mode & S_IFMT == S_IFDIR, let fd = try? Sys.openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { return total }
    defer { Sys.close(fd) }
    for child in (try? Sys.listDirectory(fd)) ?? [] { total += diskUsage(fd, child) }
    return total
}
