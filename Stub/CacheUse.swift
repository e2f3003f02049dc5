#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCrypto
import BundleRuntime

/// In-use signals and last-use bookkeeping (docs/ops.md, "How gc knows what is in use").
///
/// - A launch takes a shared `flock` on `locks/<layer digest>` for each user-cache layer it uses,
///   through a descriptor opened *without* close-on-exec: the runtime inherits it, so the lock
///   lives exactly as long as the runtime (and any child that inherits it). `cache gc` and
///   `cache clear` take an exclusive lock without waiting and skip a layer they cannot lock.
/// - Each launch touches `bundles/<bundle digest>` (`utimensat`, one syscall): its mtime is the
///   bundle's last use. The file lists the bundle's app, version, binary and layers, so
///   `cache list` and `cache gc` know which bundles reference which layers.
extension CacheRoot {
    var locksPath: String { path + "/locks" }

    enum SharedLock {
        /// Held until this process (or what it execs) ends.
        case held
        /// The lock file cannot be opened and the cache root cannot be written (a read-only
        /// mount, or a root-owned cache seen by a user): no lock file can be made, and no gc or
        /// clear by this user can remove its layers either, so they are used unlocked.
        case readOnlyCache
        /// No lock could be taken in a writable cache (typically: no `locks/` yet, nothing
        /// extracted here). Its layers are not used unlocked.
        case unavailable
    }

    /// Takes a shared lock on a layer, held until this process (or what it execs) ends.
    @discardableResult
    func holdShared(_ layer: LayerRecord) -> SharedLock {
        let lockPath = locksPath + "/" + Hex.layerName(layer.digest)
        for _ in 0..<2 {
            let fd = open(lockPath, O_RDONLY | O_CREAT | O_NOFOLLOW, 0o600)   // no O_CLOEXEC: inherited by the runtime
            guard fd >= 0 else {
                // Read-only only when the root itself cannot be written: an unreadable lock file in
                // a writable cache (say, left by root) is no reason to skip the in-use signal.
                let e = errno
                if e == EROFS || e == EACCES || e == ENOENT, access(path, W_OK) != 0, errno == EROFS || errno == EACCES {
                    return .readOnlyCache
                }
                return .unavailable
            }
            while flock(fd, LOCK_SH) != 0 && errno == EINTR {}
            // gc unlinks a layer's lock file after removing the layer (holding it exclusively);
            // if that happened between our open and our lock, lock a fresh file instead.
            var st = stat()
            if fstat(fd, &st) == 0, st.st_nlink > 0 { return .held }
            close(fd)
        }
        return .unavailable
    }

    /// Tries to take a layer's lock exclusively without waiting. Returns the descriptor (close it
    /// to release), or nil when a running process uses the layer. With `create: false` a missing
    /// lock file also gives nil (`cache list` only asks; it leaves no files behind).
    func lockExclusive(_ digestHex: String, create: Bool = true) -> Int32? {
        let fd = open(locksPath + "/" + digestHex, O_RDONLY | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
        close(fd)
        return nil
    }

    var bundlesPath: String { path + "/bundles" }

    /// Last-use bookkeeping: one `utimensat` on the warm path; the record is (re)written only
    /// when it is missing.
    func touchBundle(_ bundle: BundleFile, exePath: String) {
        let record = bundlesPath + "/" + Hex.encode(bundle.digest)
        if utimensat(AT_FDCWD, record, nil, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT { return }
        writeBundleRecord(bundle, exePath: exePath)
    }

    func writeBundleRecord(_ bundle: BundleFile, exePath: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }   // no cache yet (everything came from the system cache)
        _ = mkdir(bundlesPath, 0o700)
        let m = bundle.manifest
        let text = "app=\(m.appName)\nversion=\(m.appVersion)\nbinary=\(exePath)\nlayers=\(m.layers.map { Hex.layerName($0.digest) }.joined(separator: ","))\n"
        let final = bundlesPath + "/" + Hex.encode(bundle.digest)
        let tmp = final + ".tmp." + String(getpid())
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let ok = (try? withBytes(Array(text.utf8)) { (b) throws(SystemError) in try Sys.writeAll(fd, b, what: tmp) }) != nil
        close(fd)
        if ok { rename(tmp, final) } else { unlink(tmp) }
    }
}

/// One `bundles/<digest>` record.
struct BundleRecord {
    var digest: String
    var app: String
    var version: String
    var binary: String
    var layers: [String]
    var lastUse: Int

    static func read(_ dir: String, _ name: String) -> BundleRecord? {
        let p = dir + "/" + name
        let fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size < 1 << 20, let bytes = try? Sys.pread(fd, count: Int(st.st_size), at: 0, what: p) else { return nil }
        var r = BundleRecord(digest: name, app: "", version: "", binary: "", layers: [], lastUse: Int(st.st_mtim.tv_sec))
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "app": r.app = String(kv[1])
            case "version": r.version = String(kv[1])
            case "binary": r.binary = String(kv[1])
            case "layers": r.layers = kv[1].split(separator: ",").map(String.init)
            default: break
            }
        }
        return r
    }
}
