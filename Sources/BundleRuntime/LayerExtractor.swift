import BundleFormat
import BundleCrypto
import BundleSystem

/// Writes one layer into an empty directory; each frame of the layer's stored stream is checked
/// against its signed digest before it is decoded (`FrameReader`), and `extract` returns only once
/// every frame was, so the caller publishes nothing that does not match. `verify` checks every
/// file's digest as well.
///
/// Everything is created relative to directory descriptors with `O_NOFOLLOW`/`O_EXCL`
/// (`openat`, `mkdirat`, `symlinkat`): nothing that already exists is followed or written
/// through. Modes are masked to 0o755, so no setuid, setgid, group- or world-writable bits.
/// The table is checked completely (records and digest) before the first file is created.
public enum LayerExtractor {
    /// The mode an extracted file or directory gets: the recorded mode masked with `FileModes.kept`,
    /// plus what the owner needs to read, hash and remove it again (r for a file, r-x for a
    /// directory). A source directory of mode 0o000 is recorded as 0 by an honest build; without
    /// these bits `cache verify` could not read the layer and `gc`/`clear`/repair could not
    /// remove it (they moved it to `tmp/` and left it there for good).
    public static func extractedMode(_ recorded: UInt32, directory: Bool) -> UInt32 {
        (UInt32(recorded) & FileModes.kept) | (directory ? 0o500 : 0o400)
    }
    /// Most bytes handed to one `write` (or hashed at once): a frame's bytes are handed over whole
    /// when they fit, so a 100 MiB file costs a dozen `write` calls, not a hundred.
    static let outputBufferSize = 16 << 20
    /// Writeback of a file being written is started every this many bytes, not only at its end.
    static let writebackInterval = 8 << 20

    /// Decodes `layer` and checks every frame's digest and every file against its digest, without
    /// writing anything (`bundle-append verify`, `--launcher verify`). `threads`: how many threads
    /// decode (nil: `DecodedFrames.threadCount`, one per processor).
    public static func verify(_ bundle: BundleFile, layer: LayerRecord, threads: Int? = nil) throws(BundleError) {
        try run(bundle, layer: layer, root: nil, threads: threads, progress: nil)
    }

    /// Extracts `layer` of `bundle` into `root`, which must be an empty directory (the caller's; a
    /// duplicate is held meanwhile). `progress` is called with the bytes decoded so far; `threads`
    /// is how many threads decode (nil: one per processor, `DecodedFrames.threadCount`).
    ///
    /// The file table is streamed from the bundle, never held whole (docs/format.md, "Limits"):
    /// pass 1 checks every record and the table's digest before anything is created, pass 2
    /// creates the files (and checks the digest again, so a table changed in between is refused),
    /// pass 3 gives directories their modes, each once its subtree is complete.
    ///
    /// Hash once: when writing, the files' contents are not hashed; each stored frame they are
    /// decoded from is, in the buffer it was read into, and must match its signed digest before it
    /// is decoded (`FrameReader`). Until this returns everything written is in the caller's
    /// private `tmp/` directory, which a failure leaves for the caller to remove
    /// (docs/security.md, "Hash once").
    public static func extract(
        _ bundle: BundleFile, layer: LayerRecord, into root: borrowing FileDescriptor, threads: Int? = nil,
        progress: ((UInt64) -> Void)? = nil
    ) throws(BundleError) {
        try run(bundle, layer: layer, root: try Sys.duplicate(root), threads: threads, progress: progress)
    }

    /// `extract` into `root`, or with nil only decode and check (`verify`).
    private static func run(
        _ bundle: BundleFile, layer: LayerRecord, root: consuming FileDescriptor?, threads: Int?,
        progress: ((UInt64) -> Void)?
    ) throws(BundleError) {
        let writing = root != nil
        // Pass 1: the whole table is well-formed and signed before anything is created.
        var check = bundle.fileTableStream(of: layer)
        while try check.next() != nil {}

        // Pass 2: create, with the frames decoded on other threads (`DecodedFrames`).
        let frames = try DecodedFrames(
            file: bundle, layer: layer, threads: threads ?? DecodedFrames.threadCount(for: layer))
        // Any error in pass 2 (a full disk, a changed table) stops and joins the decoding threads
        // here (after `finish`, `cancel` finds no thread and does nothing).
        defer { frames.cancel() }
        var dirs = DirectoryStack(root: root)
        var written: UInt64 = 0
        var restrictedModes = false
        var records = bundle.fileTableStream(of: layer)
        var none: [UInt8]? = nil
        while let file = try records.next() {
            guard writing else {
                if file.kind == .regular {
                    try pump(
                        file, layer: layer, from: frames, to: { _ throws(BundleError) in }, written: &written,
                        progress: progress, collect: &none, checkDigest: true)
                }
                continue
            }
            let (parentPath, name) = split(file.path)
            try dirs.withDirectory(parentPath) { (parent) throws(BundleError) in
                switch file.kind {
                case .directory:
                    try Sys.mkdirat(parent, name, 0o700)
                    if extractedMode(file.mode, directory: true) != 0o700 { restrictedModes = true }
                case .symlink:
                    try Sys.symlinkat(String(decoding: file.linkTarget, as: UTF8.self), parent, name)
                case .regular:
                    let fd = try Sys.openat(parent, name, .writeOnly | .create | .exclusive | .noFollow, 0o600)
                    var unflushed = 0
                    try pump(
                        file, layer: layer, from: frames,
                        to: { (b) throws(BundleError) in
                            try Sys.writeAll(fd, b, what: file.pathString)
                            // A large file's pages start going to disk while the rest of it is
                            // decoded, so the flush after the layer waits for less.
                            unflushed += b.count
                            if unflushed >= writebackInterval {
                                Sys.startWriteback(fd)
                                unflushed = 0
                            }
                        },
                        written: &written, progress: progress, collect: &none, checkDigest: false)
                    // The kernel starts writing it now, while we decode the next files; `flush` waits.
                    Sys.startWriteback(fd)
                    let mode = extractedMode(file.mode, directory: false)
                    if mode != 0o600 { try Sys.fchmod(fd, mode, what: file.pathString) }
                }
            }
        }
        try frames.finish()
        dirs.closeAll()
        guard writing, restrictedModes else { return }
        try applyDirectoryModes(bundle, layer: layer, dirs: &dirs)
    }

    /// Pass 3: directory modes last, each directory once nothing more is created below it
    /// (deepest first), so a read-only directory could still be filled. Memory: the open
    /// directories of one path (`OpenDirectories`), not a list of every directory.
    private static func applyDirectoryModes(
        _ bundle: BundleFile, layer: LayerRecord, dirs chmodDirs: inout DirectoryStack
    )
        throws(BundleError)
    {
        var open = OpenDirectories<UInt32>()
        var previous: [UInt8] = []
        func apply(_ closed: [(length: Int, payload: UInt32)], in path: [UInt8]) throws(BundleError) {
            for (length, mode) in closed where mode != 0o700 {
                let dir = Array(path[..<length])
                try chmodDirs.withDirectory(dir) { (d) throws(BundleError) in
                    try Sys.fchmod(d, mode, what: String(decoding: dir, as: UTF8.self))
                }
            }
        }
        var records = bundle.fileTableStream(of: layer)
        while let file = try records.next() {
            try apply(open.advance(from: previous, to: file.path), in: previous)
            if file.kind == .directory { open.push(file.path, extractedMode(file.mode, directory: true)) }
            previous = file.path
        }
        try apply(open.closeAll(), in: previous)
    }

    /// Durability for an extracted layer: `fsync` of every regular file and directory of the layer
    /// under `root` (then of `root` itself), instead of `syncfs`, which would also flush every
    /// other process's dirty data on the filesystem. Files had their writeback started as they
    /// were closed (`Sys.startWriteback`), so their data is mostly written by now; each `fsync`
    /// still costs at least a device cache flush, which is why `CacheRoot` uses this only for
    /// small layers. One more streamed pass over the table (its digest checked again);
    /// descriptors: the `DirectoryStack`'s plus one.
    public static func flush(_ bundle: BundleFile, layer: LayerRecord, root: borrowing FileDescriptor)
        throws(BundleError)
    {
        var dirs = DirectoryStack(root: try Sys.duplicate(root))
        var records = bundle.fileTableStream(of: layer)
        while let file = try records.next() {
            switch file.kind {
            case .symlink:
                continue  // its directory entry is flushed with its parent directory
            case .directory:
                try dirs.withDirectory(file.path) { (d) throws(BundleError) in try Sys.fsync(d, what: file.pathString) }
            case .regular:
                let (parentPath, name) = split(file.path)
                try dirs.withDirectory(parentPath) { (parent) throws(BundleError) in
                    try Sys.fsync(try Sys.openat(parent, name, .readOnly | .noFollow), what: file.pathString)
                }
            }
        }
        try Sys.fsync(root, what: "layer '\(layer.name)'")
    }

    /// Decodes `layer` in memory and returns the bytes of the regular file at `path` (nil when the
    /// layer has no such file), checked against its digest; nothing is written to disk. Files up
    /// to `limit` bytes, for small metadata such as an SBOM (`--launcher sbom`).
    public static func readFile(_ bundle: BundleFile, layer: LayerRecord, path: String, limit: UInt64 = 16 << 20)
        throws(BundleError) -> [UInt8]?
    {
        let wanted = Array(path.utf8)
        var find = bundle.fileTableStream(of: layer)
        var target: FileRecord? = nil
        while let f = try find.next() {
            if f.kind == .regular && f.path == wanted { target = f }
        }
        guard let target else { return nil }
        guard target.size <= limit else {
            throw BundleError(
                .tooLarge, "'\(TerminalText.shown(path))' is \(target.size) bytes, over the \(limit)-byte limit")
        }
        // Decoded on this thread: the SBOM layer is small, and threads would only cost.
        let frames = try DecodedFrames(file: bundle, layer: layer, threads: 0)
        var written: UInt64 = 0
        var reader = bundle.fileTableStream(of: layer)
        while let file = try reader.next() {
            guard file.kind == .regular else { continue }
            if file.path == wanted {
                // The second read of the table stops here, before its digest: only the record
                // that the first, fully hashed read found is trusted.
                guard file == target else {
                    throw BundleError(
                        .digestMismatch, "layer '\(layer.name)': file table changed while it was read")
                }
                var out: [UInt8]? = []
                try pump(
                    file, layer: layer, from: frames, to: { _ throws(BundleError) in }, written: &written,
                    progress: nil, collect: &out, checkDigest: true)
                return out
            }
            var none: [UInt8]? = nil
            try pump(
                file, layer: layer, from: frames, to: { _ throws(BundleError) in }, written: &written,
                progress: nil, collect: &none, checkDigest: false)
        }
        return nil
    }

    /// Moves one regular file's bytes from `frames` to `output` (a file, or nowhere) without a
    /// copy, and, when `collect` is non-nil, into that array; checks the file's digest when
    /// `checkDigest` is set.
    private static func pump(
        _ file: FileRecord, layer: LayerRecord, from frames: DecodedFrames,
        to output: (UnsafeRawBufferPointer) throws(BundleError) -> Void, written: inout UInt64,
        progress: ((UInt64) -> Void)?, collect: inout [UInt8]?, checkDigest: Bool
    ) throws(BundleError) {
        let hasher: Blake2b? = checkDigest ? Blake2b() : nil
        var left = file.size
        while left > 0 {
            let chunk = try frames.next(limit: Int(min(left, UInt64(outputBufferSize))))
            hasher?.update(chunk)
            collect?.append(contentsOf: chunk)
            try output(chunk)
            frames.release(chunk.count)
            left -= UInt64(chunk.count)
            written += UInt64(chunk.count)
            progress?(written)
        }
        guard let hasher else { return }
        guard hasher.finalize() == file.digest else {
            throw BundleError(
                .digestMismatch,
                "layer '\(layer.name)': '\(TerminalText.shown(file.path))' does not match its digest (the bundle is corrupt or was modified)"
            )
        }
    }

    static func split(_ path: [UInt8]) -> ([UInt8], String) {
        guard let slash = path.lastIndex(of: 0x2F) else { return ([], String(decoding: path, as: UTF8.self)) }
        return (Array(path[..<slash]), String(decoding: path[(slash + 1)...], as: UTF8.self))
    }
}

/// Open descriptors for the chain of directories leading to the current one.
///
/// Table order keeps siblings together, so moving to the next file's parent usually
/// costs nothing or one `openat` per new component. Each component is opened with
/// `O_NOFOLLOW | O_DIRECTORY` from its parent's descriptor: a symlink planted where a
/// directory should be is refused, never followed.
///
/// At most `maxOpen` descriptors are held, whatever the depth (a layer may nest 2,000 levels,
/// more than a process's descriptor limit): the shallowest are closed, and reopened from the
/// nearest open ancestor, one component at a time, only if the walk comes back to them.
public struct DirectoryStack: ~Copyable {
    public static let maxOpen = 64
    /// The layer's root (nil: a stack that opens nothing, for `verify`).
    private let root: FileDescriptor?
    private var components: [[UInt8]] = []
    /// The current path (components joined by `/`) and where each component ends in it, so that
    /// moving to the next file's parent costs one comparison of bytes, not a split of the path.
    private var joined: [UInt8] = []
    private var ends: [Int] = []
    /// One slot per component; a closed slot was closed to stay under `maxOpen`.
    private var fds = DescriptorTable()
    private var openCount = 0

    public init(root: consuming FileDescriptor?) { self.root = root }

    /// Lends `body` the directory at `path` (relative to the root), opening what is missing.
    public mutating func withDirectory<R: ~Copyable>(
        _ path: [UInt8], _ body: (borrowing FileDescriptor) throws(BundleError) -> R
    )
        throws(BundleError) -> R
    {
        let level = try open(path)
        return try borrow(level, body)
    }

    /// Lends level `level` (-1: the root), which must be open.
    private func borrow<R: ~Copyable>(_ level: Int, _ body: (borrowing FileDescriptor) throws(BundleError) -> R)
        throws(BundleError) -> R
    {
        guard level < 0 else { return try fds.borrow(level, body) }
        switch root {
        case .some(let r): return try body(r)
        case .none: preconditionFailure("DirectoryStack without a root opened a directory")
        }
    }

    /// The level of `path`'s directory, opened (-1: the root).
    private mutating func open(_ path: [UInt8]) throws(BundleError) -> Int {
        // How many current components `path` keeps: compare bytes, then back up to a boundary.
        var i = 0
        let n = min(joined.count, path.count)
        while i < n, joined[i] == path[i] { i += 1 }
        var keep = components.count
        if !(i == joined.count && (i == path.count || path[i] == 0x2F)) {
            var start = i
            while start > 0, path[start - 1] != 0x2F { start -= 1 }
            while keep > 0, ends[keep - 1] > start - 1 { keep -= 1 }
        }
        while components.count > keep {
            if let fd = fds.removeLast() {
                fd.close()
                openCount -= 1
            }
            components.removeLast()
            ends.removeLast()
        }
        joined.removeSubrange((ends.last ?? 0)...)
        let restStart = keep == 0 ? 0 : ends[keep - 1] + 1
        if restStart < path.count {
            for c in path[restStart...].split(separator: 0x2F, omittingEmptySubsequences: false) {
                let parent = try descriptor(at: components.count - 1)
                let name = Array(c)
                let fd = try borrow(parent) { (p) throws(BundleError) in try Sys.openat(p, name, .directoryNoFollow) }
                if !joined.isEmpty { joined.append(0x2F) }
                joined += c
                fds.append(fd)
                components.append(name)
                ends.append(joined.count)
                openCount += 1
                trim()
            }
        }
        return try descriptor(at: components.count - 1)
    }

    /// Level `level` (-1: the root), reopened if it was closed.
    private mutating func descriptor(at level: Int) throws(BundleError) -> Int {
        if level < 0 || fds.isOpen(level) { return level }
        var base = level - 1
        while base >= 0, !fds.isOpen(base) { base -= 1 }
        // Keep the last `maxOpen` levels opened on the way down: a walk going back up (directory
        // modes are set deepest first) then finds them open instead of starting from the root again.
        let keepFrom = level - DirectoryStack.maxOpen + 1
        // Where the next component is opened from: a kept level, or an intermediate directory
        // held only until its child is open.
        var currentLevel = base
        var intermediate: FileDescriptor? = nil
        var k = base + 1
        while k <= level {
            let name = components[k]
            let next: FileDescriptor
            switch intermediate {
            case .some(let d): next = try Sys.openat(d, name, .directoryNoFollow)
            case .none:
                next = try borrow(currentLevel) { (p) throws(BundleError) in try Sys.openat(p, name, .directoryNoFollow)
                }
            }
            if k >= keepFrom {
                fds.set(k, next)
                openCount += 1
                intermediate = nil
                currentLevel = k
            } else {
                intermediate = consume next
            }
            k += 1
        }
        trim(keeping: level)
        return level
    }

    private mutating func trim(keeping: Int = -1) {
        var i = 0
        while openCount > DirectoryStack.maxOpen, i < fds.count {
            if fds.isOpen(i), i != keeping, i != fds.count - 1 {
                fds.close(i)
                openCount -= 1
            }
            i += 1
        }
    }

    /// Closes every directory but the root.
    public mutating func closeAll() {
        fds.removeAll()
        components = []
        joined = []
        ends = []
        openCount = 0
    }
}
