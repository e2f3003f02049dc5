import BundleFormat
import BundleRuntime
import BundleSystem

/// Where the per-user cache lives, and why (shown by `--launcher info`).
///
/// `$<PREFIX>_CACHE_DIR`, else `$XDG_CACHE_HOME/<cache-name>`, else `$HOME/.cache/<cache-name>` (home
/// from the password database when `$HOME` is unset). `<PREFIX>` and `<cache-name>` are the
/// bundle's (`Manifest.environmentPrefix`, `Manifest.cacheName`). A relative `$<PREFIX>_CACHE_DIR` is
/// not used (a cache that moves with the working directory would be re-extracted everywhere), nor
/// an absolute one with a `..` component (the walk refuses those): either costs one line on stderr
/// (`warning`) and the default applies, so the app still runs. A variable naming a directory that
/// is unsafe (another user's, writable by others) stays a refusal: the user chose that place, and
/// it may be an attack, so the launch says so instead of quietly caching elsewhere.
///
/// POSIX: when there is no usable home (none at all, `/nonexistent`, not a directory, or not
/// writable where the cache would be made) and neither variable is set, the cache is a private
/// directory `<tmp>/<cache-name>-<uid>` in `$TMPDIR` (when absolute) or `/tmp`, where a one-file
/// tool would unpack too; `fallbackReason` says why.
///
/// The configured directory (`base`) is never used as the cache root when other users can write
/// to it (a sticky `/tmp`, `/var/tmp`, `/dev/shm`): the root is then a private directory
/// `<base>/<app>-<uid>` made inside it (docs/ops.md, "Layout").
public struct CacheLocation: Sendable {
    public enum Source: String, Sendable {
        case variable = "environment variable"
        case xdg = "XDG_CACHE_HOME"
        case home = "default (~/.cache)"
        /// Windows: `%LOCALAPPDATA%\<app>`.
        case localAppData = "default (%LOCALAPPDATA%)"
        /// POSIX, no usable home: `<tmp>/<cache-name>-<uid>`.
        case temporary = "temporary directory (no usable home)"
    }
    /// The directory the environment names: `$<APP>_CACHE_DIR`, `$XDG_CACHE_HOME`, `~/.cache`.
    public let base: String
    /// The name appended to `base` when it is private (`<app>`; none for `$<APP>_CACHE_DIR`).
    public let leaf: String?
    public let source: Source
    public let variableName: String
    /// The cache directory's name (`Manifest.cacheName`): the leaf below a shared base, and the
    /// start of the private root made in a shared one.
    public let cacheName: String
    /// Trusted like the user: `$HOME` (as the kernel resolves it) when the cache is below it.
    public let home: String?
    /// One line for stderr when the cache variable was set but could not be used (relative):
    /// the launcher says so and goes on with this location.
    public internal(set) var warning: String? = nil
    /// Why the cache is in the temporary directory (`source == .temporary`): what is wrong with the home.
    public internal(set) var fallbackReason: String? = nil

    public init(base: String, leaf: String?, source: Source, variableName: String, cacheName: String, home: String?) {
        self.base = CacheLocation.trimmed(base)
        self.leaf = leaf
        self.source = source
        self.variableName = variableName
        self.cacheName = cacheName
        self.home = home.map(CacheLocation.trimmed)
    }

    /// Where `manifest`'s bundle keeps its cache.
    public static func resolve(_ manifest: Manifest) throws(BundleError) -> CacheLocation {
        try resolve(cacheName: manifest.cacheName, environmentPrefix: manifest.environmentPrefix)
    }

    public static func resolve(cacheName: String, environmentPrefix: String) throws(BundleError)
        -> CacheLocation
    {
        let variable = environmentPrefix + "_CACHE_DIR"
        #if DGMO_TARGET_OS_WINDOWS
            // Windows: `$<APP>_CACHE_DIR`, else `%LOCALAPPDATA%\<app>` (per user, not roaming).
            // The walk starts at the directory named (PathWalk.openWindows): its owner and DACL are
            // judged, and what is made below it is private.
            var ignored: String? = nil
            if let v = Sys.getenv(variable), !v.isEmpty {
                if Sys.isAbsolutePath(v) {
                    return CacheLocation(
                        base: v, leaf: nil, source: .variable, variableName: variable, cacheName: cacheName, home: nil)
                }
                ignored = "\(variable)='\(v)' is not an absolute path (like C:\\cache), so it is ignored"
            }
            guard let local = Sys.getenv("LOCALAPPDATA"), Sys.isAbsolutePath(local) else {
                throw BundleError(.usage, "cannot find a cache directory: set \(variable) or LOCALAPPDATA")
            }
            var location = CacheLocation(
                base: local, leaf: cacheName, source: .localAppData, variableName: variable, cacheName: cacheName,
                home: nil)
            location.warning = ignored.map { $0 + ": the cache is in " + location.rootPath() }
            return location
        #else
            let home = homeDirectory()
            var ignored: String? = nil
            if let v = Sys.getenv(variable), !v.isEmpty {
                if !Sys.isAbsolutePath(v) {
                    ignored = "\(variable)='\(v)' is not an absolute path, so it is ignored"
                } else if v.splitBytes(at: 0x2F).contains(where: { $0.bytesEqual("..") }) {
                    // Like a relative one: the walk would refuse it only on reaching the `..`, after
                    // making the directories before it, so it is set aside before anything is made.
                    ignored = "\(variable)='\(v)' contains '..', so it is ignored"
                } else {
                    return CacheLocation(
                        base: v, leaf: nil, source: .variable, variableName: variable, cacheName: cacheName, home: home)
                }
            }
            var location: CacheLocation
            if let x = Sys.getenv("XDG_CACHE_HOME"), Sys.isAbsolutePath(x) {
                location = CacheLocation(
                    base: x, leaf: cacheName, source: .xdg, variableName: variable, cacheName: cacheName, home: home)
            } else if let home, let problem = homeProblem(home, cacheName: cacheName) {
                location = temporary(cacheName: cacheName, variable: variable)
                location.fallbackReason = problem
            } else if let home {
                location = CacheLocation(
                    base: Sys.defaultUserCacheBase(home: home), leaf: cacheName, source: .home, variableName: variable,
                    cacheName: cacheName, home: home)
            } else {
                location = temporary(cacheName: cacheName, variable: variable)
                location.fallbackReason =
                    "there is no home directory (HOME is not set and uid \(Ownership.uid) has none)"
            }
            location.warning = ignored.map { $0 + ": the cache is in " + location.rootPath() }
            return location
        #endif
    }

    #if !DGMO_TARGET_OS_WINDOWS
        /// The private root in the temporary directory: `$TMPDIR` when absolute, else `/tmp`. Named
        /// `<cache-name>-<uid>` whether or not the directory is shared, so it is one name to look for.
        static func temporary(cacheName: String, variable: String) -> CacheLocation {
            let tmp = Sys.getenv("TMPDIR").flatMap { Sys.isAbsolutePath($0) ? $0 : nil } ?? "/tmp"
            return CacheLocation(
                base: tmp, leaf: cacheName + "-" + String(Ownership.uid), source: .temporary, variableName: variable,
                cacheName: cacheName, home: nil)
        }

        /// Why `home` cannot hold the cache (`~/.cache/<cache-name>`), or nil when it can, as far as
        /// looking tells (whether it is safe is judged when it is opened: `PathWalk`). The warm path
        /// pays one `open`: the cache directory exists. Otherwise the nearest directory that exists on
        /// the way must be one we may write to (a home not yet made is made, as before).
        static func homeProblem(_ home: String, cacheName: String) -> String? {
            // Debian's and others' "this user has no home" (the user nobody).
            if home.bytesEqual("/nonexistent") || home.hasBytePrefix("/nonexistent/") {
                return "the home directory \(home) does not exist"
            }
            let base = Sys.defaultUserCacheBase(home: home)
            if (try? Sys.open(base + "/" + cacheName, .readOnly | .directory)) != nil { return nil }
            var path = base
            while true {
                do {
                    let fd = try Sys.open(path, .readOnly | .directory)
                    if Sys.canWrite(fd) { return nil }
                    return path.bytesEqual(base) || path.bytesEqual(home)
                        ? "\(path) is not writable" : "the home directory \(home) does not exist and cannot be made"
                } catch {
                    if error.errno == Errno.ENOTDIR { return "\(path) is not a directory" }
                    guard error.errno == Errno.ENOENT else { return "\(path): \(error.reason)" }
                }
                let bytes = Array(path.utf8)
                guard let cut = bytes.lastIndex(of: 0x2F), cut > 0 else {
                    return "the home directory \(home) does not exist"
                }
                path = String(decoding: bytes[..<cut], as: UTF8.self)
            }
        }
    #endif

    static func trimmed(_ p: String) -> String {
        #if DGMO_TARGET_OS_WINDOWS
            // `C:\` keeps its separator: `C:` alone is the drive's working directory.
            var bytes = Array(p.utf8)
            while bytes.count > 3, bytes.last == 0x2F || bytes.last == 0x5C { bytes.removeLast() }
        #else
            var bytes = Array(p.utf8)
            while bytes.count > 1, bytes.last == 0x2F { bytes.removeLast() }
        #endif
        return bytes.count == p.utf8.count ? p : String(decoding: bytes, as: UTF8.self)
    }

    static func homeDirectory() -> String? {
        if let h = Sys.getenv("HOME"), Sys.isAbsolutePath(h) { return trimmed(h) }
        return Sys.passwordDatabaseHome().map(trimmed)
    }

    /// The private directory made inside a shared `base`.
    public var perUserName: String { cacheName + "-" + String(Ownership.uid) }

    /// The cache root's path as it would be used now (for `cache path` and messages): looks at
    /// `base` without creating anything.
    public func rootPath() -> String {
        if let opened = try? PathWalk.open(base, trustedPrefix: home, create: false, variable: variableName),
            Ownership.isShared(opened.stat)
        {
            return base + "/" + perUserName
        }
        return leaf.map { base + "/" + $0 } ?? base
    }

    /// Opens the cache root, checked by descriptor all the way down (`PathWalk`); with `create`,
    /// makes what is missing (mode 0700). Returns nil when it does not exist and `create` is
    /// false. Throws a one-line refusal when the path is not safe to use.
    public func open(create: Bool) throws(BundleError) -> CacheRoot? {
        guard let b = try PathWalk.open(base, trustedPrefix: home, create: create, variable: variableName) else {
            return nil
        }
        var name = leaf
        if Ownership.isShared(b.stat) { name = perUserName }
        guard let name else { return CacheRoot(fd: b.fd, path: base, location: self, created: b.created) }
        let path = base + "/" + name
        guard let r = try PathWalk.child(b.fd, name, path: path, create: create, variable: variableName) else {
            return nil
        }
        let created = r.created
        if Ownership.othersCanWrite(r.stat) {
            throw BundleError(
                .unsafeCache,
                "cache directory \(path) is writable by other users (\(Ownership.describe(r.stat))): \(Ownership.privateHint(path)) or set \(variableName)"
            )
        }
        return CacheRoot(fd: r.fd, path: path, location: self, created: created)
    }

    /// Before the cache root is made: refuses (`.noExec`) when the nearest directory that exists on
    /// the way to it is on a filesystem mounted noexec, so a refusal leaves no empty directory
    /// behind (what is made below it would be on the same filesystem).
    public func checkExecAllowedBeforeCreating() throws(BundleError) {
        var path = rootPath()
        var links = 0
        while true {
            if let fd = try? Sys.open(path, .readOnly | .directory) {
                guard Sys.allowsExecution(fd, what: path) else {
                    let device = (try? Sys.fstat(fd))?.device
                    throw BundleError(.noExec, noExecMessage(path, device: device))
                }
                return
            }
            let bytes = Array(path.utf8)
            guard let cut = bytes.lastIndex(where: { $0 == 0x2F || $0 == 0x5C }), cut > 0 else { return }
            let parent = String(decoding: bytes[..<cut], as: UTF8.self)
            // A symlink whose target does not exist yet: the walk will make the target, so the
            // target's filesystem is the one to judge, not the link's (review of issue 28).
            let name = Array(bytes[(cut + 1)...])
            if links < 40, !name.isEmpty, let dir = try? Sys.open(parent, .readOnly | .directory),
                let st = try? Sys.fstatat(dir, name, follow: false), st.type == .symlink,
                let target = try? Sys.readlinkat(dir, name), !target.isEmpty
            {
                links += 1
                path =
                    target.first == 0x2F
                    ? String(decoding: target, as: UTF8.self) : parent + "/" + String(decoding: target, as: UTF8.self)
                continue
            }
            path = parent
        }
    }

    /// The refusal for a cache on a noexec filesystem (`path` is on it, `device` its `st_dev`),
    /// with a place that would work: the first of the usual cache and temporary directories that
    /// is on another device, allows execution and is writable. Suggesting `$HOME` when `$HOME` is
    /// the noexec mount would send the user round in a circle.
    func noExecMessage(_ path: String, device: UInt64?) -> String {
        var candidates: [String] = []
        #if !DGMO_TARGET_OS_WINDOWS
            if let x = Sys.getenv("XDG_CACHE_HOME"), Sys.isAbsolutePath(x) { candidates.append(x) }
            if let h = CacheLocation.homeDirectory() {
                candidates.append(Sys.defaultUserCacheBase(home: h))
                candidates.append(h)
            }
            if let t = Sys.getenv("TMPDIR"), Sys.isAbsolutePath(t) { candidates.append(t) }
            candidates += ["/var/tmp", "/tmp", "/dev/shm"]
        #endif
        var example: String? = nil
        for c in candidates {
            guard let fd = try? Sys.open(c, .readOnly | .directory), let st = try? Sys.fstat(fd) else { continue }
            if let device, st.device == device { continue }
            if Sys.allowsExecution(fd, what: c), Sys.canWrite(fd) {
                example = c
                break
            }
        }
        let hint = example.map { " (for example \($0)/\(cacheName))" } ?? ""
        return
            "cache directory \(path) is on a filesystem mounted noexec, so extracted programs could not run: set \(variableName) to a directory on a filesystem mounted without noexec\(hint)"
    }
}

/// Opens a directory path one component at a time with `O_NOFOLLOW`, checking each with `fstat`
/// before trusting what it names: owned by us or root, and not writable by group or others
/// unless sticky (where others cannot rename what is ours). The prefix the walk starts from is
/// `$HOME` (the user's own choice, resolved by the kernel) when the path is below it, else `/`.
///
/// A symlink is followed only inside a directory nobody else can write to (so root or we made
/// it), by reading it and walking its target the same way; a symlink in a directory others can
/// write to is refused. Every directory on the way is thus one no other user can change, which
/// is what makes the path string safe to hand to `execve` later.
public enum PathWalk {
    /// A directory opened and checked, with what `fstat` said of it.
    public struct Opened: ~Copyable {
        public let fd: FileDescriptor
        public let stat: FileStatus
        /// Made by this call (`mkdirat`), so a refusal that follows can take it away again.
        public var created = false
    }

    public static func open(_ path: String, trustedPrefix: String?, create: Bool, variable: String) throws(BundleError)
        -> Opened?
    {
        #if DGMO_TARGET_OS_WINDOWS
            return try openWindows(path, create: create, variable: variable)
        #else
            return try openPOSIX(path, trustedPrefix: trustedPrefix, create: create, variable: variable)
        #endif
    }

    #if DGMO_TARGET_OS_WINDOWS
        /// Windows: the directory the user named (`$<APP>_CACHE_DIR`, or `%LOCALAPPDATA%`, which
        /// Windows makes private to the user) is where the walk starts, as `$HOME` is on POSIX; its
        /// ancestors are not judged (a drive root lets every user add folders, and there is no sticky
        /// bit to tell that apart). It must be a directory, not a junction or symlink, owned by us
        /// (or SYSTEM or Administrators) and writable by nobody else (owner SID and DACL, read by
        /// the platform layer's fstat). When missing it is made, if its parent exists, as a private
        /// directory (only us, SYSTEM and Administrators: the Windows form of mode 0700).
        static func openWindows(_ path: String, create: Bool, variable: String) throws(BundleError) -> Opened? {
            do throws(BundleError) {
                let fd = try Sys.open(path, .readOnly | .directory | .noFollow)
                let st = try Sys.fstat(fd)
                try judge(st, path, variable: variable)
                return Opened(fd: fd, stat: st)
            } catch  where error.errno == Errno.ENOENT {
                guard create else { return nil }
            } catch  where error.errno == Errno.ELOOP {
                throw BundleError(
                    .unsafeCache,
                    "cache path \(path) is a junction or symlink: set \(variable) to a directory without it",
                    errno: error.errno)
            } catch  where error.code == .unsafeCache {
                throw error
            } catch {
                throw error.reworded("cache directory \(path): \(error.reason) (set \(variable))")
            }
            let bytes = Array(path.utf8)
            guard let cut = bytes.lastIndex(where: { $0 == 0x2F || $0 == 0x5C }), cut + 1 < bytes.count else {
                throw BundleError(
                    .usage, "cache directory \(path) does not exist (set \(variable))", errno: Errno.ENOENT)
            }
            let parentBytes = bytes.count > 3 && cut == 2 ? Array(bytes[...cut]) : Array(bytes[..<cut])
            let parent = String(decoding: parentBytes, as: UTF8.self)
            let parentFD: FileDescriptor
            do { parentFD = try Sys.open(parent, .readOnly | .directory) } catch {
                throw error.reworded(
                    "cannot create cache directory \(path): \(parent): \(error.reason) (set \(variable) to a directory you can write to)"
                )
            }
            return try child(parentFD, Array(bytes[(cut + 1)...]), path: path, create: true, variable: variable)
        }
    #endif

    static func openPOSIX(_ path: String, trustedPrefix: String?, create: Bool, variable: String) throws(BundleError)
        -> Opened?
    {
        /// A component still to walk; `fromLink` when it comes from a symlink's target, where
        /// `..` is allowed (it names the parent of the directory holding the link, as for the kernel).
        struct Component { var name: [UInt8]; var fromLink: Bool }
        func components(_ bytes: [UInt8], fromLink: Bool) -> [Component] {
            bytes.split(separator: 0x2F).map { Component(name: Array($0), fromLink: fromLink) }
        }
        var rest = components(Array(path.utf8), fromLink: false)
        var start = "/"
        var prefixFD: FileDescriptor? = nil
        /// The trusted prefix the walk started from (nil when it started at `/`).
        var startedAt: [UInt8]? = nil
        if let prefix = trustedPrefix, !prefix.bytesEqual("/"),
            path.bytesEqual(prefix) || path.hasBytePrefix(prefix + "/")
        {
            // A home that does not exist yet is made like any other component, from `/`.
            if let fd = try? Sys.open(prefix, .readOnly | .directory) {
                start = prefix
                prefixFD = consume fd
                startedAt = Array(prefix.utf8)
                rest = components(Array(path.utf8.dropFirst(prefix.utf8.count)), fromLink: false)
            }
        }
        var current: Opened
        do throws(BundleError) {
            let fd: FileDescriptor
            switch consume prefixFD {
            case .some(let p): fd = p
            case .none: fd = try Sys.open(start, .readOnly | .directory)
            }
            let st = try Sys.fstat(fd)
            current = Opened(fd: fd, stat: st)
        } catch {
            throw error.reworded("cache directory \(start): \(error.reason) (set \(variable))")
        }
        var shown = start
        /// The directories above `current`, still open, so that `..` in a link target goes back
        /// to the very directory we came from (checked on the way down), never to a path again.
        /// Closed with the table on any way out.
        var ancestors = DescriptorTable()
        var ancestorStats: [FileStatus] = []
        var ancestorNames: [String] = []
        try judge(current.stat, shown, variable: variable)
        var links = 0
        rest.reverse()  // a stack: next component last
        while let component = rest.popLast() {
            if component.name == [0x2E] { continue }
            if component.name == [0x2E, 0x2E] {
                guard component.fromLink else {
                    throw BundleError(.usage, "cache path \(path) must not contain '..' (set \(variable))")
                }
                if !ancestors.isEmpty, let up = ancestors.removeLast() {
                    current = Opened(fd: up, stat: ancestorStats.removeLast())
                    shown = ancestorNames.removeLast()
                } else if let home = startedAt {
                    // Above the trusted prefix: walk again from `/`, the prefix included,
                    // each of its directories checked like any other.
                    rest.append(component)
                    rest += components(home, fromLink: true).reversed()
                    startedAt = nil
                    let root = try Sys.open("/", .readOnly | .directory)
                    // A root that cannot be fstat'ed is not trusted (no owner is assumed).
                    let st = try Sys.fstat(root)
                    current = Opened(fd: root, stat: st)
                    shown = "/"
                    try judge(current.stat, shown, variable: variable)
                }
                // `/..` is `/`.
                continue
            }
            let childPath = (shown.bytesEqual("/") ? "" : shown) + "/" + Sys.displayName(component.name)
            let opened: Opened?
            do throws(BundleError) {
                opened = try child(current.fd, component.name, path: childPath, create: create, variable: variable)
            } catch  where error.errno == Errno.ELOOP || error.errno == Errno.ENOTDIR {
                // Only now (never on the common path) ask whether it is a symlink.
                guard let st = try? Sys.fstatat(current.fd, component.name, follow: false), st.type == .symlink
                else { throw error }
                guard !Ownership.othersCanWrite(current.stat) else {
                    throw BundleError(
                        .unsafeCache,
                        "cache path \(childPath) is a symlink in a directory other users can write to: set \(variable) to a path without it"
                    )
                }
                links += 1
                guard links <= 40 else {
                    throw BundleError(
                        .system, "cache path \(path): too many levels of symbolic links", errno: Errno.ELOOP)
                }
                let target = try Sys.readlinkat(current.fd, component.name)
                if target.first == 0x2F {
                    let root = try Sys.open("/", .readOnly | .directory)
                    let st = try Sys.fstat(root)
                    current = Opened(fd: root, stat: st)
                    ancestors.removeAll()
                    ancestorStats = []
                    ancestorNames = []
                    startedAt = nil
                    shown = "/"
                }
                rest += components(target, fromLink: true).reversed()
                continue
            }
            guard let next = consume opened else { return nil }
            guard ancestors.count < 256 else {
                throw BundleError(.usage, "cache path \(path) is too deep (set \(variable))")
            }
            let above = consume current
            ancestors.append(above.fd)
            ancestorStats.append(above.stat)
            ancestorNames.append(shown)
            current = next
            shown = childPath
        }
        return current
    }

    /// Opens (with `create`: makes, mode 0700) one directory below `dirfd` without following a
    /// symlink, and checks it. nil when it does not exist and `create` is false.
    public static func child(
        _ dirfd: borrowing FileDescriptor, _ name: String, path: String, create: Bool, variable: String
    ) throws(BundleError) -> Opened? {
        try child(dirfd, Array(name.utf8), path: path, create: create, variable: variable)
    }

    static func child(
        _ dirfd: borrowing FileDescriptor, _ name: [UInt8], path: String, create: Bool, variable: String
    ) throws(BundleError) -> Opened? {
        var opened: FileDescriptor? = nil
        var created = false
        for attempt in 0..<2 {
            do {
                opened = try Sys.openat(dirfd, name, .directoryNoFollow)
                break
            } catch  where error.errno == Errno.ENOENT && create && attempt == 0 {
                do {
                    try Sys.mkdirat(dirfd, name, 0o700)
                    created = true
                } catch  where error.errno == Errno.EEXIST {} catch {
                    throw error.reworded(
                        "cannot create cache directory \(path): \(error.reason) (set \(variable) to a directory you can write to)"
                    )
                }
            } catch  where error.errno == Errno.ENOENT {
                return nil
            } catch  where error.errno == Errno.ELOOP || error.errno == Errno.ENOTDIR {
                throw BundleError(
                    .unsafeCache, "cache path \(path) is a symlink or not a directory: remove it or set \(variable)",
                    errno: error.errno)
            } catch {
                throw error.reworded("cache directory \(path): \(error.reason) (set \(variable))")
            }
        }
        guard let fd = consume opened else { return nil }
        let st = try Sys.fstat(fd)
        try judge(st, path, variable: variable)
        return Opened(fd: fd, stat: st, created: created)
    }

    /// Owned by us or root; not writable by others unless a sticky directory of root or ours.
    static func judge(_ st: FileStatus, _ path: String, variable: String) throws(BundleError) {
        guard Ownership.isTrusted(st) else {
            throw BundleError(
                .unsafeCache,
                "cache directory \(path) is owned by \(Ownership.ownerName(st)), not by you\(Ownership.selfName): remove it or set \(variable) to a directory you own"
            )
        }
        if Ownership.othersCanWrite(st) && !Ownership.isShared(st) {
            throw BundleError(
                .unsafeCache,
                "cache directory \(path) is writable by other users (\(Ownership.describe(st))): \(Ownership.privateHint(path)) or set \(variable)"
            )
        }
    }
}
