import BundleFormat
import BundleRuntime
import BundleCrypto
import BundleSystem

/// An opened, checked cache root and the directories below it, all held by descriptor.
///
/// Everything the launcher does in the cache goes through these descriptors with `O_NOFOLLOW`
/// (`openat`, `mkdirat`, `renameat`, `unlinkat`), and each directory and file it relies on is
/// checked with `fstat` after opening: ours or root's, not writable by group or others, of the
/// expected type. What is ours is repaired (modes tightened); what is not is refused with one
/// line that says how to fix it (docs/security.md).
public final class CacheRoot {
    public enum Subdirectory: Int, CaseIterable, Sendable {
        case layers, tmp, locks, bundles
        public var name: String {
            switch self {
            case .layers: return "layers"
            case .tmp: return "tmp"
            case .locks: return "locks"
            case .bundles: return "bundles"
            }
        }
    }

    public let fd: FileDescriptor
    public let path: String
    public let location: CacheLocation
    /// Whether this process made the root (the first run into it: the temporary-directory
    /// fallback says so once, then).
    public let created: Bool
    private var subdirectories: [Directory?] = [nil, nil, nil, nil]
    /// The subdirectories this process made, in order (taken away again on a noexec refusal).
    private var createdSubdirectories: [Subdirectory] = []

    init(fd: consuming FileDescriptor, path: String, location: CacheLocation, created: Bool = false) {
        self.fd = fd
        self.path = path
        self.location = location
        self.created = created
    }

    /// One of the cache's own directories, open for as long as the root is.
    public final class Directory {
        public let fd: FileDescriptor
        init(_ fd: consuming FileDescriptor) { self.fd = fd }
    }

    /// `layers/`, `tmp/`, `locks/` or `bundles/`, opened once and checked; with `create`, made
    /// (0700) when missing. nil when missing and not created.
    public func directory(_ sub: Subdirectory, create: Bool) throws(BundleError) -> Directory? {
        if let d = subdirectories[sub.rawValue] { return d }
        let p = path + "/" + sub.name
        guard let opened = try PathWalk.child(fd, sub.name, path: p, create: create, variable: location.variableName)
        else { return nil }
        if opened.created { createdSubdirectories.append(sub) }
        // Unlike a directory on the way to the root, the cache's own directories may not be
        // shared even when sticky: a root such as `/` or `/var` (for root) already holds a
        // sticky `tmp/`, where extractions would mix with other users' files and the clean-up
        // of abandoned extractions (`removeAbandoned`) would delete theirs. (`PathWalk` already
        // refused one that is not sticky; a sticky one is shared on purpose and left alone.)
        if Ownership.othersCanWrite(opened.stat) {
            throw BundleError(
                .unsafeCache,
                "cache directory \(p) is writable by other users: set \(location.variableName) to a directory of the cache's own"
            )
        }
        let d = Directory(opened.fd)
        subdirectories[sub.rawValue] = d
        return d
    }

    /// Like `directory`, for callers that need it to exist.
    public func requireDirectory(_ sub: Subdirectory) throws(BundleError) -> Directory {
        guard let d = try directory(sub, create: true) else {
            throw BundleError(.damagedCache, "cache directory \(path)/\(sub.name) is missing")
        }
        return d
    }

    /// Whether we can write in the root (false on a read-only mount, or a cache root owns).
    public var isWritable: Bool { Sys.canWrite(fd) }

    /// Extracted programs must be executable where they land. Peers' users hit `/tmp` mounted
    /// noexec constantly; we say so before extracting rather than fail at `execve`.
    public func checkExecAllowed() throws(BundleError) {
        if !Sys.allowsExecution(fd, what: path) {
            throw BundleError(.noExec, location.noExecMessage(path, device: (try? Sys.fstat(fd))?.device))
        }
    }

    /// After a refusal before anything was extracted (noexec): takes away what this process made
    /// in an existing root, so nothing is left behind: the lock files `lockNames` when it made
    /// `locks/` (then every file in it is this run's), and the subdirectories it made, if empty.
    public func removeWhatThisRunMade(lockNames: [String]) {
        for sub in createdSubdirectories.reversed() {
            if sub == .locks, let locks = subdirectories[sub.rawValue] {
                for name in lockNames { try? Sys.unlinkat(locks.fd, name) }
            }
            subdirectories[sub.rawValue] = nil
            try? Sys.unlinkat(fd, sub.name, directory: true)
        }
        createdSubdirectories = []
    }

    /// Before extracting `bytes` (a layer's declared size) and `files` entries: refuses when the
    /// filesystem clearly lacks the space or inodes, instead of failing half way.
    public func checkFreeSpace(bytes: UInt64, files: UInt64, layerName: String) throws(BundleError) {
        guard let vfs = try? Sys.fstatvfs(fd, what: path) else { return }
        let blocks = Ownership.uid == 0 ? UInt64(vfs.freeBlocks) : UInt64(vfs.availableBlocks)
        let (free, overflow) = blocks.multipliedReportingOverflow(by: UInt64(max(vfs.fragmentSize, 1)))
        if !overflow, free < bytes {
            throw BundleError(
                .diskFull,
                "no space left on device for layer '\(layerName)': it needs \(bytes) bytes and \(free) are free in \(path) (free some space or set \(location.variableName))",
                errno: Errno.ENOSPC)
        }
        let inodes = Ownership.uid == 0 ? UInt64(vfs.freeFiles) : UInt64(vfs.availableFiles)
        if vfs.files > 0, inodes < files {
            throw BundleError(
                .diskFull,
                "no space left on device for layer '\(layerName)': it has \(files) files and \(inodes) inodes are free in \(path) (free some space or set \(location.variableName))",
                errno: Errno.ENOSPC)
        }
    }

    // MARK: layers

    public enum LayerState: ~Copyable {
        case absent
        /// Complete and ours: the layer directory's descriptor.
        case complete(FileDescriptor)
        /// Ours but incomplete or loosened: set it aside and extract again.
        case damaged
    }

    /// One layer in `layers/`, checked by descriptor: the directory (not a symlink, ours, not
    /// writable by others) and its completion marker (a regular file, ours, not writable by
    /// others). An object another user owns is refused: only root could have put it in our
    /// private directory, and we do not guess why.
    public func layer(_ digestName: String) throws(BundleError) -> LayerState {
        guard let layers = try directory(.layers, create: false) else { return .absent }
        let fd: FileDescriptor
        do { fd = try Sys.openat(layers.fd, digestName, .directoryNoFollow) } catch
            where error.errno == Errno.ENOENT
        { return .absent } catch  where error.errno == Errno.ELOOP || error.errno == Errno.ENOTDIR {
            return .damaged
        } catch { throw error.reworded("layer directory \(path)/layers/\(digestName): \(error.reason)") }
        try CacheRoot.check(fd: fd, digestName: digestName, root: path)
        if try CacheRoot.markerIsGood(fd, digestName: digestName, root: path) { return .complete(fd) }
        return .damaged
    }

    static func check(fd: borrowing FileDescriptor, digestName: String, root: String) throws(BundleError) {
        let st: FileStatus
        st = try Sys.fstat(fd)
        guard Ownership.isTrusted(st) else {
            throw BundleError(
                .unsafeCache,
                "layer directory \(root)/layers/\(digestName) is owned by uid \(st.owner), not by you: remove it")
        }
        if Ownership.othersCanWrite(st) {
            guard Ownership.isOurs(st), (try? Sys.fchmod(fd, st.mode & 0o755, what: digestName)) != nil else {
                throw BundleError(
                    .unsafeCache, "layer directory \(root)/layers/\(digestName) is writable by other users: remove it")
            }
        }
    }

    /// The marker is written last, inside the temporary directory, before the rename that
    /// publishes the layer; one `fstatat` relative to the layer's descriptor.
    static func markerIsGood(_ layerFD: borrowing FileDescriptor, digestName: String, root: String) throws(BundleError)
        -> Bool
    {
        let st: FileStatus?
        do { st = try Sys.fstatat(layerFD, Array(PathRules.markerName.utf8), follow: false) } catch { return false }
        guard let st, st.type == .regular else { return false }
        guard Ownership.isTrusted(st) else {
            throw BundleError(
                .unsafeCache,
                "layer directory \(root)/layers/\(digestName) holds a marker owned by uid \(st.owner), not by you: remove it"
            )
        }
        return !Ownership.othersCanWrite(st)
    }

    /// Whether the file at `relative` inside a layer (the entry's program, or the script an
    /// interpreter runs) exists and is ours or root's and not writable by others: one `fstatat`
    /// relative to the layer's descriptor. Symlinks inside the layer are followed (the extractor
    /// only writes symlinks that stay inside it). A directory counts only where `directoryCounts`
    /// (an interpreter's argument, `python3 {app}`; never the program itself).
    public static func programIsPresent(
        layerFD: borrowing FileDescriptor, relative: String, directoryCounts: Bool = false
    ) -> Bool {
        guard let st = try? Sys.fstatat(layerFD, Array(relative.utf8), follow: true) else { return false }
        return (directoryCounts || st.type != .directory) && Ownership.isTrusted(st)
            && !Ownership.othersCanWrite(st)
    }

    /// Absolute path of a layer directory (what the runtime is given).
    public func layerPath(_ digestName: String) -> String { path + "/layers/" + digestName }
}
