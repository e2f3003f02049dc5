#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleRuntime
import BundleCrypto

/// Where the per-user cache lives, and why (shown by `--launcher info`).
struct CacheRoot {
    enum Source: String {
        case variable = "environment variable"
        case xdg = "XDG_CACHE_HOME"
        case home = "default (~/.cache)"
    }
    let path: String
    let source: Source
    let variableName: String
    let appName: String

    /// `$<APP>_CACHE_DIR`, else `$XDG_CACHE_HOME/<app>`, else `$HOME/.cache/<app>`
    /// (home from the password database when `$HOME` is unset). Relative paths are refused:
    /// a cache that moves with the working directory would be re-extracted everywhere.
    static func resolve(appName: String) -> CacheRoot {
        let variable = Names.environmentPrefix(appName) + "_CACHE_DIR"
        if let v = Sys.getenv(variable), !v.isEmpty {
            guard v.hasPrefix("/") else { fail("\(variable) must be an absolute path, got '\(v)'") }
            return CacheRoot(path: trimmed(v), source: .variable, variableName: variable, appName: appName)
        }
        if let x = Sys.getenv("XDG_CACHE_HOME"), x.hasPrefix("/") {
            return CacheRoot(path: trimmed(x) + "/" + appName, source: .xdg, variableName: variable, appName: appName)
        }
        var home = Sys.getenv("HOME") ?? ""
        if !home.hasPrefix("/"), let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir {
            home = String(cString: dir)
        }
        guard home.hasPrefix("/") else { fail("cannot find a cache directory: set \(variable) or HOME") }
        return CacheRoot(path: trimmed(home) + "/.cache/" + appName, source: .home, variableName: variable, appName: appName)
    }

    static func trimmed(_ p: String) -> String {
        var p = p
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        return p
    }

    func layerPath(_ layer: LayerRecord) -> String { path + "/layers/" + Hex.layerName(layer.digest) }

    /// A layer is usable when its completion marker exists and is trusted: one `stat`. The
    /// marker is written last, inside the temporary directory, before the rename that publishes
    /// the layer. A marker owned by another user, or writable by others, is not ours: the layer
    /// is not used (docs/security.md).
    func isExtracted(_ layer: LayerRecord) -> Bool {
        var st = stat()
        guard lstat(layerPath(layer) + "/" + PathRules.markerName, &st) == 0 else { return false }
        return st.st_mode & S_IFMT == S_IFREG && CacheRoot.isTrustedOwner(st) && st.st_mode & 0o022 == 0
    }

    /// The read-only, system-wide cache a distro package can fill (docs/ops.md): used for a layer
    /// the user's cache lacks, never written to. Trusted like the user's cache: a marker owned
    /// by root or this user and not writable by others.
    var systemRoot: String { "/var/cache/" + appName }

    func systemLayerPath(_ layer: LayerRecord) -> String? {
        let dir = systemRoot + "/layers/" + Hex.layerName(layer.digest)
        var st = stat()
        guard lstat(dir + "/" + PathRules.markerName, &st) == 0, st.st_mode & S_IFMT == S_IFREG,
              CacheRoot.isTrustedOwner(st), st.st_mode & 0o022 == 0 else { return nil }
        return dir
    }

    /// Extracted programs must be executable where they land. Peers' users hit `/tmp` mounted
    /// noexec constantly; we say so before extracting rather than fail at `execve`.
    func checkExecAllowed() {
        var vfs = statvfs()
        let stNoexec: UInt = 8   // ST_NOEXEC in <sys/statvfs.h> (Linux); not exported to Swift
        if statvfs(path, &vfs) == 0, vfs.f_flag & stNoexec != 0 {
            fail("cache directory \(path) is on a filesystem mounted noexec, so extracted programs could not run: set \(variableName) to a directory on another filesystem (for example under $HOME)")
        }
    }

    /// Our uid, read once: `getuid` is a real system call and the warm path checks several owners.
    static let uid = getuid()

    static func isTrustedOwner(_ st: stat) -> Bool { st.st_uid == uid || st.st_uid == 0 }

    /// Refuses a cache that other users could change: the root and each parent up to `$HOME`
    /// (or `/` when the root is elsewhere) must be owned by this user or root and not be group-
    /// or world-writable — except a root-owned sticky directory such as `/tmp`, where others
    /// cannot replace what is ours. Directories that do not exist yet are skipped (they will be
    /// created 0700). Costs one `stat` per path component on every launch.
    func checkTrusted() {
        let home = CacheRoot.homeDirectory()
        var dir = path
        while true {
            var st = stat()
            if stat(dir, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else { fail("cache path \(dir) is not a directory (set \(variableName))") }
                guard CacheRoot.isTrustedOwner(st) else {
                    fail("cache directory \(dir) is owned by uid \(st.st_uid), not by you (uid \(CacheRoot.uid)): remove it or set \(variableName) to a directory you own")
                }
                let sticky = st.st_mode & S_ISVTX != 0 && st.st_uid == 0
                if st.st_mode & 0o022 != 0 && !sticky {
                    fail("cache directory \(dir) is writable by other users (mode \(String(st.st_mode & 0o7777, radix: 8))): run 'chmod go-w \(dir)' or set \(variableName)")
                }
            }
            if dir == home || dir == "/" { return }
            guard let slash = dir.lastIndex(of: "/") else { return }
            dir = slash == dir.startIndex ? "/" : String(dir[..<slash])
        }
    }

    static func homeDirectory() -> String? {
        if let h = Sys.getenv("HOME"), h.hasPrefix("/") { return trimmed(h) }
        if let pw = getpwuid(getuid()), let d = pw.pointee.pw_dir { return trimmed(String(cString: d)) }
        return nil
    }

    /// Creates the root and its missing parents with mode 0700, and the `layers` and `tmp`
    /// directories inside it; returns a descriptor for the root.
    func create() throws(RuntimeError) -> Int32 {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw RuntimeError("cannot create cache directory \(prefix): \(String(cString: strerror(errno)))", errno: errno)
            }
        }
        do {
            let fd = try Sys.open(path, O_RDONLY | O_DIRECTORY)
            for sub in ["layers", "tmp", "locks", "bundles"] {
                do { try Sys.mkdirat(fd, sub, 0o700) } catch where error.errno == EEXIST {}
            }
            return fd
        } catch {
            throw RuntimeError("cache directory \(path): \(error.reason)", errno: error.errno)
        }
    }
}

extension Hex {
    /// The cache name of a layer: its digest in lower-case hex.
    static func layerName(_ digest: [UInt8]) -> String { encode(digest) }
}
