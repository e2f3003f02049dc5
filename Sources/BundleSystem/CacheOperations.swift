import BundleFormat
import CPlatform

/// What the cache asks of the operating system, as operations rather than system calls
/// (docs/security.md, "Platform layer"). The cache (BundleCache) says what it wants, "lock this
/// layer shared and keep the lock while the runtime runs", "publish this directory under that
/// name unless the name is taken", and this file says how on POSIX (flock, renameat, fsync,
/// kill). A Windows file will say how there (LockFileEx, MoveFileExW, FlushFileBuffers,
/// OpenProcess) without the cache changing.
extension Sys {
    /// A lock on a layer's lock file: shared while a launch uses the layer, exclusive for gc and
    /// clear, which must not remove a layer in use.
    public enum LockKind: Sendable { case shared, exclusive }

    /// Takes `kind` on the file `fd`; with `wait: false` fails at once (EWOULDBLOCK) when another
    /// process holds a conflicting lock. The lock lives as long as the descriptor (and, for one
    /// opened by `openatInherited`, in the runtime the launcher hands off to).
    public static func lock(_ fd: borrowing FileDescriptor, _ kind: LockKind, wait: Bool, what: String)
        throws(BundleError)
    {
        let op = (kind == .shared ? CPLAT_LOCK_SH : CPLAT_LOCK_EX) | (wait ? 0 : CPLAT_LOCK_NB)
        _ = try call(.flock, what) { cplat_flock(fd.raw, op) }
    }

    /// What `publishDirectory` did.
    public enum Publication: Sendable, Equatable {
        case published
        /// The name was taken (another launch published first): nothing was moved.
        case nameTaken
    }

    /// Moves the directory `name` of `fromDir` to `newName` in `toDir` in one atomic step, unless
    /// `newName` exists there: readers see no directory or the complete one. (POSIX rename
    /// replaces only an empty directory, which the cache never leaves, and reports ENOTEMPTY or
    /// EEXIST otherwise.)
    public static func publishDirectory(
        _ fromDir: borrowing FileDescriptor, _ name: [UInt8], to toDir: borrowing FileDescriptor, as newName: [UInt8]
    )
        throws(BundleError) -> Publication
    {
        do { try renameat(fromDir, name, toDir, newName) } catch
            where error.errno == CPLAT_ENOTEMPTY
            || error.errno == CPLAT_EEXIST
        { return .nameTaken }
        return .published
    }

    /// Makes what was written to the file or directory `fd` durable (fsync).
    public static func flush(_ fd: borrowing FileDescriptor, what: String) throws(BundleError) {
        try fsync(fd, what: what)
    }

    /// Makes everything written on the file system of `fd` durable (syncfs; on macOS sync and
    /// F_FULLFSYNC).
    public static func flushFileSystem(_ fd: borrowing FileDescriptor) throws(BundleError) { try syncfs(fd) }

    /// Whether the process `pid` exists (signal 0); EPERM means it exists and is someone else's.
    public static func isProcessAlive(_ pid: Int32) -> Bool {
        do {
            _ = try call(.kill, "") { cplat_kill(pid, 0) }
            return true
        } catch { return error.errno != CPLAT_ESRCH }
    }

    /// When the process `pid` started (nanoseconds since 1970), where the system says (Windows);
    /// nil elsewhere or when it cannot be told.
    public static func processStartNanoseconds(_ pid: Int32) -> Int64? {
        let r = cplat_process_start_ns(pid)
        return r >= 0 ? r : nil
    }

    /// Whether programs could run from the file system of `fd` (false when mounted noexec);
    /// true when it cannot be told.
    public static func allowsExecution(_ fd: borrowing FileDescriptor, what: String) -> Bool {
        guard let vfs = try? fstatvfs(fd, what: what) else { return true }
        return !vfs.isNoExec
    }

    /// Where caches live when the environment names none: the per-user default below `home`
    /// (`~/.cache`, the XDG default) and the read-only, system-wide cache a distro package can
    /// fill (`/var/cache/<app>`, docs/ops.md).
    public static func defaultUserCacheBase(home: String) -> String { home + "/.cache" }
    #if DGMO_TARGET_OS_WINDOWS
        /// Whether `path` names a place without the working directory: `X:\` or `X:/` (a drive
        /// and its root) or `\\server\share` (UNC, `\\?\` included). `C:foo` (relative to the
        /// drive's working directory) and `\foo` (relative to the current drive) are not.
        public static func isAbsolutePath(_ path: String) -> Bool {
            let b = Array(path.utf8.prefix(3))
            func isSeparator(_ c: UInt8) -> Bool { c == 0x2F || c == 0x5C }
            if b.count >= 2, isSeparator(b[0]), isSeparator(b[1]) { return true }
            guard b.count == 3, b[1] == 0x3A, isSeparator(b[2]) else { return false }
            return (b[0] | 0x20) >= 0x61 && (b[0] | 0x20) <= 0x7A
        }
        /// `%ProgramData%\<cache-name>`: machine-wide, writable by administrators only (Windows' own ACL).
        public static func systemCacheRoot(cacheName: String) -> String {
            let base = getenv("ProgramData").flatMap { isAbsolutePath($0) ? $0 : nil } ?? "C:\\ProgramData"
            return base + "\\" + cacheName
        }
    #else
        /// Whether `path` names a place without the working directory (`/...` on POSIX): the cache
        /// refuses a relative root, which would move with the working directory.
        public static func isAbsolutePath(_ path: String) -> Bool { path.utf8.first == 0x2F }
        public static func systemCacheRoot(cacheName: String) -> String { "/var/cache/" + cacheName }
    #endif
}

/// The shared layer locks a launch holds: they must outlive the launcher, into the runtime it
/// hands off to, so `cache gc` and `cache clear` never remove a layer a running program uses.
/// On POSIX the descriptors are inherited across `execve`; on Windows the launcher waits for its
/// child while holding them.
public final class HeldLocks {
    /// Closed (released) when no longer held: a library user's locks; the launcher's pass to the runtime.
    var descriptors = DescriptorTable()
    public init() {}
    /// How many locks are held.
    public var count: Int { descriptors.count }
    /// Keeps the inherited descriptor `fd` (from `openatInherited`) open until the hand-off.
    public func keep(_ fd: consuming FileDescriptor) { descriptors.append(fd) }
}
