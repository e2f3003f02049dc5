import BundleFormat
import BundleRuntime
import BundleSystem

/// Depth-first walks of a directory tree that hold at most two descriptors whatever the depth,
/// and never build a path: every name is relative to its directory's descriptor, so trees
/// deeper than the descriptor limit and paths longer than PATH_MAX are handled like any other.
///
/// Going back up uses `openat(dir, "..")`, checked against the device and inode recorded on
/// the way down: if a directory was moved meanwhile the walk stops with ESTALE rather than
/// continue somewhere else.
public enum TreeWalk {
    /// What a visitor is told about one entry below the walked directory.
    public struct Entry {
        /// The directory holding the entry (valid during the call only).
        public let parent: Int32
        public let name: [UInt8]
        public let stat: FileStatus
        /// The entry's path relative to the walked directory, as bytes (never used as a path).
        public let path: [UInt8]
    }

    /// Visits every entry below `root` (a directory descriptor the caller keeps): `visit` returns
    /// true to descend into a directory; `enter` sees a directory's descriptor before it is
    /// listed; `leave` is called with its parent once its contents were visited.
    public static func walk(
        _ root: Int32,
        visit: (Entry) throws(BundleError) -> Bool,
        enter: (Int32) -> Void = { _ in },
        leave: (Entry) throws(BundleError) -> Void = { _ throws(BundleError) in }
    ) throws(BundleError) {
        struct Frame { var entry: Entry; var pending: [[UInt8]]; var parentID: (UInt64, UInt64) }
        var frames: [Frame] = []
        var fd = root
        var pending = try Sys.listDirectoryBytes(root)
        var prefix: [UInt8] = []
        defer { if fd != root { Sys.close(fd) } }
        while true {
            if let name = pending.popLast() {
                guard let st = try Sys.fstatat(fd, name, follow: false) else { continue }
                let path = prefix.isEmpty ? name : prefix + [0x2F] + name
                let entry = Entry(parent: fd, name: name, stat: st, path: path)
                guard try visit(entry), st.type == .directory else { continue }
                let child = try Sys.openat(fd, name, .directoryNoFollow)
                let here = try Sys.fstat(fd)
                enter(child)
                let list: [[UInt8]]
                do { list = try Sys.listDirectoryBytes(child) } catch { Sys.close(child); throw error }
                frames.append(Frame(entry: entry, pending: pending, parentID: (here.device, here.inode)))
                if fd != root { Sys.close(fd) }
                fd = child
                pending = list
                prefix = path
                continue
            }
            guard let frame = frames.popLast() else { return }
            let up: Int32
            if frames.isEmpty {
                up = root
            } else {
                up = try Sys.openat(fd, [0x2E, 0x2E], .directoryNoFollow)
                let st: FileStatus
                do { st = try Sys.fstat(up) } catch { Sys.close(up); throw error }
                guard st.device == frame.parentID.0, st.inode == frame.parentID.1 else {
                    Sys.close(up)
                    throw BundleError.system("walk", Sys.displayName(frame.entry.path), errno: Errno.ESTALE)
                }
            }
            Sys.close(fd)
            fd = up
            let entry = Entry(parent: up, name: frame.entry.name, stat: frame.entry.stat, path: frame.entry.path)
            try leave(entry)
            pending = frame.pending
            prefix = frames.last?.entry.path ?? []
        }
    }

    /// Removes `name` below `dirfd` and everything in it, without following symlinks: a name is
    /// deleted, never what it points to. Read-only directories are made writable first.
    public static func removeTree(_ dirfd: Int32, _ name: [UInt8]) throws(BundleError) {
        guard let st = try Sys.fstatat(dirfd, name, follow: false) else { return }
        guard st.type == .directory else {
            try Sys.unlinkat(dirfd, name)
            return
        }
        let fd = try Sys.openat(dirfd, name, .directoryNoFollow)
        defer { Sys.close(fd) }
        try? Sys.fchmod(fd, 0o700, what: Sys.displayName(name))
        try walk(
            fd,
            visit: { (e) throws(BundleError) -> Bool in
                if e.stat.type == .directory { return true }
                try Sys.unlinkat(e.parent, e.name)
                return false
            }, enter: { try? Sys.fchmod($0, 0o700, what: "directory") },
            leave: { (e) throws(BundleError) in
                try Sys.unlinkat(e.parent, e.name, directory: true)
            })
        try Sys.unlinkat(dirfd, name, directory: true)
    }

    public static func removeTree(_ dirfd: Int32, _ name: String) throws(BundleError) {
        try removeTree(dirfd, Array(name.utf8))
    }

    /// Bytes a tree occupies on disk (allocated blocks), without following symlinks. What cannot
    /// be read counts as nothing: this is for reports, not for decisions.
    public static func diskUsage(_ dirfd: Int32, _ name: String) -> UInt64 {
        guard let st = try? Sys.fstatat(dirfd, Array(name.utf8), follow: false) else { return 0 }
        var total = UInt64(max(st.blocks, 0)) * 512
        guard st.type == .directory,
            let fd = try? Sys.openat(dirfd, name, .directoryNoFollow)
        else { return total }
        defer { Sys.close(fd) }
        try? walk(
            fd,
            visit: { (e) throws(BundleError) -> Bool in
                total += UInt64(max(e.stat.blocks, 0)) * 512
                return true
            })
        return total
    }
}
