import BundleFormat
import BundleRuntime
import BundleSystem

/// In-use signals (docs/ops.md, "How gc knows what is in use").
///
/// A launch takes a shared `flock` on `locks/<layer digest>` for each user-cache layer it uses,
/// through a descriptor opened *without* close-on-exec: the runtime inherits it, so the lock
/// lives exactly as long as the runtime. `cache gc` and `cache clear` take an exclusive lock
/// without waiting and skip a layer they cannot lock.
///
/// Lock files are opened `O_NONBLOCK | O_NOFOLLOW` and must be regular files: a FIFO, device
/// or symlink where a lock file goes never blocks a launch. Being in our private `locks/`, such
/// an object can only be ours (or root's); it is removed and a regular file made in its place.
extension CacheRoot {
    public enum SharedLock: Equatable, Sendable {
        /// Held until this process (or what it execs) ends.
        case held
        /// Nothing can be written in the cache (a read-only mount, or a root-owned cache seen by
        /// a user): no gc or clear by this user can remove its layers either, so they are used
        /// unlocked.
        case readOnlyCache
        /// No lock could be taken in a writable cache. Its layers are not used unlocked.
        case unavailable
    }

    /// Takes a shared lock on a layer, kept in `locks` until the hand-off and held by the runtime
    /// after it (`Handoff.run`).
    @discardableResult
    public func holdShared(_ digestName: String, into held: HeldLocks) throws(BundleError) -> SharedLock {
        let locks: Directory
        do {
            guard let d = try directory(.locks, create: true) else { return .unavailable }
            locks = d
        } catch  where error.errno == Errno.EROFS || error.errno == Errno.EACCES {
            return isWritable ? .unavailable : .readOnlyCache
        }
        for _ in 0..<3 {
            let fd: FileDescriptor
            do {
                fd = try Sys.openatInherited(
                    locks.fd, digestName, .readOnly | .create | .noFollow | .nonBlocking, 0o600)
            } catch  where error.errno == Errno.EROFS || error.errno == Errno.EACCES {
                return isWritable ? .unavailable : .readOnlyCache
            } catch  where error.errno == Errno.ELOOP {
                try replaceLockFile(locks.fd, digestName)
                continue
            } catch {
                return .unavailable
            }
            // flock never blocks on what is not a lock file (a FIFO included), so the one fstat
            // after it checks both the object (checkLockFile) and that gc did not unlink it
            // between our open and our lock (then lock a fresh file instead).
            do { try Sys.lock(fd, .shared, wait: true, what: digestName) } catch { return .unavailable }
            guard let st = try checkLockFile(fd, locks.fd, digestName) else { continue }
            if st.linkCount > 0 {
                held.keep(fd)
                return .held
            }
        }
        return .unavailable
    }

    /// Tries to take a layer's lock exclusively without waiting. Returns the lock's descriptor
    /// (released when it ends), or nil when a running process uses the layer. With `create: false`
    /// a missing lock file also gives nil (`cache list` only asks; it leaves no files behind).
    public func lockExclusive(_ digestName: String, create: Bool = true) -> FileDescriptor? {
        guard let locks = try? directory(.locks, create: create) else { return nil }
        for _ in 0..<2 {
            guard
                let fd = try? Sys.openat(
                    locks.fd, digestName,
                    .readOnly | (create ? .create : .none) | .noFollow | .nonBlocking, 0o600)
            else { return nil }
            guard (try? checkLockFile(fd, locks.fd, digestName)) != nil else { continue }
            if (try? Sys.lock(fd, .exclusive, wait: false, what: digestName)) != nil { return fd }
            return nil
        }
        return nil
    }

    /// Whether a lock file may be used: its `stat` when it is a regular file of ours (mode tightened
    /// if needed). A non-regular object is removed (nil: open again); another user's is refused.
    func checkLockFile(_ fd: borrowing FileDescriptor, _ locks: borrowing FileDescriptor, _ name: String)
        throws(BundleError) -> FileStatus?
    {
        let st: FileStatus
        st = try Sys.fstat(fd)
        guard Ownership.isTrusted(st) else {
            throw BundleError(
                .unsafeCache, "lock file \(path)/locks/\(name) is owned by uid \(st.owner), not by you: remove it")
        }
        guard st.type == .regular else {
            try replaceLockFile(locks, name)
            return nil
        }
        if Ownership.othersCanWrite(st) {
            guard Ownership.isOurs(st), (try? Sys.fchmod(fd, 0o600, what: name)) != nil else {
                throw BundleError(.unsafeCache, "lock file \(path)/locks/\(name) is writable by other users: remove it")
            }
        }
        return st
    }

    private func replaceLockFile(_ locks: borrowing FileDescriptor, _ name: String) throws(BundleError) {
        do { try Sys.unlinkat(locks, Array(name.utf8)) } catch  where error.errno == Errno.ENOENT {} catch {
            throw BundleError(
                .unsafeCache,
                "lock file \(path)/locks/\(name) is not a regular file and cannot be removed (\(error.reason)): remove it",
                errno: error.errno)
        }
    }

    /// Removes a layer's lock file (gc and clear, while holding it exclusively).
    public func removeLockFile(_ digestName: String) {
        guard let locks = try? directory(.locks, create: false) else { return }
        try? Sys.unlinkat(locks.fd, Array(digestName.utf8))
    }
}
