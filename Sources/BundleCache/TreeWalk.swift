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
    /// What a visitor is told about one entry below the walked directory (its directory is lent
    /// to the visitor beside it).
    public struct Entry {
        public let name: [UInt8]
        public let stat: FileStatus
        /// The entry's path relative to the walked directory, as bytes (never used as a path).
        public let path: [UInt8]
    }

    /// Visits every entry below `root` (a directory the caller keeps): `visit` is given the entry
    /// and its directory and returns true to descend into a directory; `enter` sees a directory
    /// before it is listed; `leave` is called with its parent once its contents were visited.
    public static func walk(
        _ root: borrowing FileDescriptor,
        visit: (Entry, borrowing FileDescriptor) throws(BundleError) -> Bool,
        enter: (borrowing FileDescriptor) -> Void = { _ in },
        leave: (Entry, borrowing FileDescriptor) throws(BundleError) -> Void = { _, _ throws(BundleError) in }
    ) throws(BundleError) {
        struct Frame { var entry: Entry; var pending: [[UInt8]]; var parentID: (UInt64, UInt64) }
        var frames: [Frame] = []
        /// The directory being listed when below `root` (nil: `root` itself).
        var below: FileDescriptor? = nil
        /// Lends the directory being listed.
        func withCurrent<R: ~Copyable>(
            _ below: borrowing FileDescriptor?, _ body: (borrowing FileDescriptor) throws(BundleError) -> R
        )
            throws(BundleError) -> R
        {
            switch below {
            case .some(let d): return try body(d)
            case .none: return try body(root)
            }
        }
        var pending = try Sys.listDirectoryBytes(root)
        var prefix: [UInt8] = []
        while true {
            if let name = pending.popLast() {
                let path = prefix.isEmpty ? name : prefix + [0x2F] + name
                // The child directory to go down into, opened while the current one is lent.
                // The directory to go down into (opened while the current one is lent), its entry
                // and what its parent's `fstat` said.
                var entry = Entry(name: name, stat: FileStatus(), path: path)
                var parent = FileStatus()
                let child: FileDescriptor? = try withCurrent(below) { (fd) throws(BundleError) -> FileDescriptor? in
                    guard let st = try Sys.fstatat(fd, name, follow: false) else { return nil }
                    entry = Entry(name: name, stat: st, path: path)
                    guard try visit(entry, fd), st.type == .directory else { return nil }
                    let child = try Sys.openat(fd, name, .directoryNoFollow)
                    parent = try Sys.fstat(fd)
                    return child
                }
                guard let next = consume child else { continue }
                enter(next)
                let list = try Sys.listDirectoryBytes(next)
                frames.append(Frame(entry: entry, pending: pending, parentID: (parent.device, parent.inode)))
                below = consume next
                pending = list
                prefix = path
                continue
            }
            guard let frame = frames.popLast() else { return }
            if frames.isEmpty {
                below = nil
            } else {
                let up = try withCurrent(below) { (fd) throws(BundleError) -> FileDescriptor in
                    try Sys.openat(fd, [0x2E, 0x2E], .directoryNoFollow)
                }
                let st = try Sys.fstat(up)
                guard st.device == frame.parentID.0, st.inode == frame.parentID.1 else {
                    throw BundleError.system("walk", Sys.displayName(frame.entry.path), errno: Errno.ESTALE)
                }
                below = consume up
            }
            try withCurrent(below) { (fd) throws(BundleError) in try leave(frame.entry, fd) }
            pending = frame.pending
            prefix = frames.last?.entry.path ?? []
        }
    }

    /// Removes `name` below `dirfd` and everything in it, without following symlinks: a name is
    /// deleted, never what it points to. Read-only directories are made writable first.
    public static func removeTree(_ dirfd: borrowing FileDescriptor, _ name: [UInt8]) throws(BundleError) {
        guard let st = try Sys.fstatat(dirfd, name, follow: false) else { return }
        guard st.type == .directory else {
            try Sys.unlinkat(dirfd, name)
            return
        }
        do {
            let fd = try Sys.openat(dirfd, name, .directoryNoFollow)
            try? Sys.fchmod(fd, 0o700, what: Sys.displayName(name))
            try walk(
                fd,
                visit: { (e, parent) throws(BundleError) -> Bool in
                    if e.stat.type == .directory { return true }
                    try Sys.unlinkat(parent, e.name)
                    return false
                }, enter: { try? Sys.fchmod($0, 0o700, what: "directory") },
                leave: { (e, parent) throws(BundleError) in
                    try Sys.unlinkat(parent, e.name, directory: true)
                })
        }
        try Sys.unlinkat(dirfd, name, directory: true)
    }

    public static func removeTree(_ dirfd: borrowing FileDescriptor, _ name: String) throws(BundleError) {
        try removeTree(dirfd, Array(name.utf8))
    }

    /// Bytes a tree occupies on disk (allocated blocks), without following symlinks. What cannot
    /// be read counts as nothing: this is for reports, not for decisions.
    public static func diskUsage(_ dirfd: borrowing FileDescriptor, _ name: String) -> UInt64 {
        guard let st = try? Sys.fstatat(dirfd, Array(name.utf8), follow: false) else { return 0 }
        var total = UInt64(max(st.blocks, 0)) * 512
        guard st.type == .directory, let fd = try? Sys.openat(dirfd, name, .directoryNoFollow) else { return total }
        try? walk(
            fd,
            visit: { (e, _) throws(BundleError) -> Bool in
                total += UInt64(max(e.stat.blocks, 0)) * 512
                return true
            })
        return total
    }
}
