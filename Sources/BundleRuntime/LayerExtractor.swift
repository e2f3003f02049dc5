import BundleFormat
import BundleCrypto
import BundleSystem

/// Writes one layer into an empty directory; the layer's stored stream is checked against its
/// signed data digest before `extract` returns (`LayerStream`), so the caller publishes nothing
/// that does not match. `verify` checks every file's digest as well.
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
    static let outputBufferSize = 1 << 20

    /// Decodes `layer` and checks the data digest and every file against its digest, without
    /// writing anything (`bundle-append verify`, `--launcher verify`).
    public static func verify(_ bundle: BundleFile, layer: LayerRecord) throws(BundleError) {
        try extract(bundle, layer: layer, into: nil)
    }

    /// Extracts `layer` of `bundle` into `rootFD`, which must be an empty directory
    /// (nil: only decode and check). `progress` is called with the bytes decoded so far.
    ///
    /// The file table is streamed from the bundle, never held whole (docs/format.md, "Limits"):
    /// pass 1 checks every record and the table's digest before anything is created, pass 2
    /// creates the files (and checks the digest again, so a table changed in between is refused),
    /// pass 3 gives directories their modes, each once its subtree is complete.
    ///
    /// Hash once: when writing, the files' contents are not hashed; the stored stream they are
    /// decoded from is, and it must match the layer's signed data digest at its end, before this
    /// returns. Until then everything written is in the caller's private `tmp/` directory, which a
    /// failure leaves for the caller to remove (docs/security.md, "Hash once").
    public static func extract(
        _ bundle: BundleFile, layer: LayerRecord, into rootFD: Int32?,
        progress: ((UInt64) -> Void)? = nil
    ) throws(BundleError) {
        // Pass 1: the whole table is well-formed and signed before anything is created.
        var check = bundle.fileTableStream(of: layer)
        while try check.next() != nil {}

        // Pass 2: create. Writing a layer, the decoding runs on a second thread (`DecodePipeline`)
        // unless threads are unavailable; verifying, on this one.
        let source = try DecodedBytes(bundle, layer: layer, pipelined: rootFD != nil)
        // Any error in pass 2 (a full disk, a changed table) stops and joins the decoding thread
        // here: the thread holds the pipeline while it runs, so `deinit` alone would not (after
        // `finish`, `cancel` finds no thread and does nothing).
        defer { if case .pipelined(let p) = source { p.cancel() } }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: outputBufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var dirs = DirectoryStack(root: rootFD ?? -1)
        defer { dirs.closeAll() }
        var written: UInt64 = 0
        var restrictedModes = false
        var records = bundle.fileTableStream(of: layer)
        while let file = try records.next() {
            guard rootFD != nil else {
                if file.kind == .regular, case .inline(let s) = source {
                    try pump(
                        file, layer: layer, stream: &s.stream, buffer: buffer, to: nil, written: &written,
                        progress: progress)
                }
                continue
            }
            let (parentPath, name) = split(file.path)
            let parent: Int32
            do throws(BundleError) { parent = try dirs.open(parentPath) } catch { throw error }
            // One typed error per `do` (Embedded Swift cannot cast errors).
            switch file.kind {
            case .directory:
                do { try Sys.mkdirat(parent, name, 0o700) } catch { throw error }
                if extractedMode(file.mode, directory: true) != 0o700 { restrictedModes = true }
            case .symlink:
                do { try Sys.symlinkat(String(decoding: file.linkTarget, as: UTF8.self), parent, name) } catch {
                    throw error
                }
            case .regular:
                let fd: Int32
                fd = try Sys.openat(
                    parent, name, .writeOnly | .create | .exclusive | .noFollow, 0o600)
                defer { Sys.close(fd) }
                switch source {
                case .inline(let s):
                    try pump(
                        file, layer: layer, stream: &s.stream, buffer: buffer, to: fd, written: &written,
                        progress: progress, checkDigest: false)
                case .pipelined(let p):
                    try pump(file, from: p, to: fd, written: &written, progress: progress)
                }
                // The kernel starts writing it now, while we decode the next files; `flush` waits.
                Sys.startWriteback(fd)
                let mode = extractedMode(file.mode, directory: false)
                if mode != 0o600 { do { try Sys.fchmod(fd, mode, what: file.pathString) } catch { throw error } }
            }
        }
        switch source {
        case .inline(let s): try s.stream.finish(scratch: buffer)
        case .pipelined(let p): try p.finish()
        }
        dirs.closeAll()
        guard let root = rootFD, restrictedModes else { return }
        try applyDirectoryModes(bundle, layer: layer, rootFD: root)
    }

    /// Pass 3: directory modes last, each directory once nothing more is created below it
    /// (deepest first), so a read-only directory could still be filled. Memory: the open
    /// directories of one path (`OpenDirectories`), not a list of every directory.
    private static func applyDirectoryModes(_ bundle: BundleFile, layer: LayerRecord, rootFD: Int32) throws(BundleError)
    {
        var chmodDirs = DirectoryStack(root: rootFD)
        defer { chmodDirs.closeAll() }
        var open = OpenDirectories<UInt32>()
        var previous: [UInt8] = []
        func apply(_ closed: [(length: Int, payload: UInt32)], in path: [UInt8]) throws(BundleError) {
            for (length, mode) in closed where mode != 0o700 {
                let dir = Array(path[..<length])
                try Sys.fchmod(try chmodDirs.open(dir), mode, what: String(decoding: dir, as: UTF8.self))
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
    /// under `rootFD` (then of `rootFD` itself), instead of `syncfs`, which would also flush every
    /// other process's dirty data on the filesystem. Files had their writeback started as they
    /// were closed (`Sys.startWriteback`), so their data is mostly written by now; each `fsync`
    /// still costs at least a device cache flush, which is why `CacheRoot` uses this only for
    /// small layers. One more streamed pass over the table (its digest checked again);
    /// descriptors: the `DirectoryStack`'s plus one.
    public static func flush(_ bundle: BundleFile, layer: LayerRecord, rootFD: Int32) throws(BundleError) {
        var dirs = DirectoryStack(root: rootFD)
        defer { dirs.closeAll() }
        var records = bundle.fileTableStream(of: layer)
        while let file = try records.next() {
            switch file.kind {
            case .symlink:
                continue  // its directory entry is flushed with its parent directory
            case .directory:
                try Sys.fsync(try dirs.open(file.path), what: file.pathString)
            case .regular:
                let (parentPath, name) = split(file.path)
                let parent = try dirs.open(parentPath)
                let fd = try Sys.openat(parent, name, .readOnly | .noFollow)
                defer { Sys.close(fd) }
                try Sys.fsync(fd, what: file.pathString)
            }
        }
        try Sys.fsync(rootFD, what: "layer '\(layer.name)'")
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
        var stream = try LayerStream(fd: bundle.fd, dataOffset: bundle.trailer.layers.lowerBound, layer: layer)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: outputBufferSize, alignment: 16)
        defer { buffer.deallocate() }
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
                    file, layer: layer, stream: &stream, buffer: buffer, to: nil, written: &written, progress: nil,
                    collect: &out)
                return out
            }
            var none: [UInt8]? = nil
            try pump(
                file, layer: layer, stream: &stream, buffer: buffer, to: nil, written: &written, progress: nil,
                collect: &none)
        }
        return nil
    }

    private static func pump(
        _ file: FileRecord, layer: LayerRecord, stream: inout LayerStream,
        buffer: UnsafeMutableRawBufferPointer, to fd: Int32?, written: inout UInt64,
        progress: ((UInt64) -> Void)?, checkDigest: Bool = true
    ) throws(BundleError) {
        var none: [UInt8]? = nil
        try pump(
            file, layer: layer, stream: &stream, buffer: buffer, to: fd, written: &written, progress: progress,
            collect: &none,
            checkDigest: checkDigest)
    }

    /// Moves one regular file's bytes from the stream to `fd` (nil: nowhere) and, when `collect`
    /// is non-nil, into that array, checking the file's digest when `checkDigest` is set.
    private static func pump(
        _ file: FileRecord, layer: LayerRecord, stream: inout LayerStream,
        buffer: UnsafeMutableRawBufferPointer, to fd: Int32?, written: inout UInt64,
        progress: ((UInt64) -> Void)?, collect: inout [UInt8]?, checkDigest: Bool = true
    ) throws(BundleError) {
        let hasher: Blake2b? = checkDigest ? Blake2b() : nil
        var left = file.size
        while left > 0 {
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(left, UInt64(buffer.count)))])
            try stream.readExactly(chunk)
            hasher?.update(UnsafeRawBufferPointer(chunk))
            collect?.append(contentsOf: UnsafeRawBufferPointer(chunk))
            if let fd {
                try Sys.writeAll(fd, UnsafeRawBufferPointer(chunk), what: file.pathString)
            }
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

    /// Writes one regular file's bytes from the pipeline's ring straight to `fd` (no copy).
    private static func pump(
        _ file: FileRecord, from pipeline: DecodePipeline, to fd: Int32, written: inout UInt64,
        progress: ((UInt64) -> Void)?
    ) throws(BundleError) {
        var left = file.size
        while left > 0 {
            let chunk = try pipeline.next(limit: Int(min(left, UInt64(DecodePipeline.slotSize))))
            try Sys.writeAll(fd, chunk, what: file.pathString)
            pipeline.release(chunk.count)
            left -= UInt64(chunk.count)
            written += UInt64(chunk.count)
            progress?(written)
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
public struct DirectoryStack {
    public static let maxOpen = 64
    private let root: Int32
    private var components: [[UInt8]] = []
    /// The current path (components joined by `/`) and where each component ends in it, so that
    /// moving to the next file's parent costs one comparison of bytes, not a split of the path.
    private var joined: [UInt8] = []
    private var ends: [Int] = []
    private var fds: [Int32] = []  // -1: closed to stay under maxOpen
    private var openCount = 0

    public init(root: Int32) { self.root = root }

    public mutating func open(_ path: [UInt8]) throws(BundleError) -> Int32 {
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
            let fd = fds.removeLast()
            if fd >= 0 { Sys.close(fd); openCount -= 1 }
            components.removeLast()
            ends.removeLast()
        }
        joined.removeSubrange((ends.last ?? 0)...)
        let restStart = keep == 0 ? 0 : ends[keep - 1] + 1
        if restStart < path.count {
            for c in path[restStart...].split(separator: 0x2F, omittingEmptySubsequences: false) {
                let parent = try descriptor(at: components.count - 1)
                let fd = try Sys.openat(parent, Array(c), .directoryNoFollow)
                if !joined.isEmpty { joined.append(0x2F) }
                joined += c
                fds.append(fd)
                components.append(Array(c))
                ends.append(joined.count)
                openCount += 1
                trim()
            }
        }
        return try descriptor(at: components.count - 1)
    }

    /// The descriptor of level `level` (-1: the root), reopened if it was closed.
    private mutating func descriptor(at level: Int) throws(BundleError) -> Int32 {
        if level < 0 { return root }
        if fds[level] >= 0 { return fds[level] }
        var base = level - 1
        while base >= 0, fds[base] < 0 { base -= 1 }
        // Keep the last `maxOpen` levels opened on the way down: a walk going back up (directory
        // modes are set deepest first) then finds them open instead of starting from the root again.
        let keepFrom = level - DirectoryStack.maxOpen + 1
        var current = base < 0 ? root : fds[base]
        var k = base + 1
        while k <= level {
            let fd: Int32
            do {
                fd = try Sys.openat(current, components[k], .directoryNoFollow)
            } catch {
                if k > base + 1, k - 1 < keepFrom { Sys.close(current) }
                throw error
            }
            if k > base + 1, k - 1 < keepFrom { Sys.close(current) }
            if k >= keepFrom { fds[k] = fd; openCount += 1 }
            current = fd
            k += 1
        }
        trim(keeping: level)
        return current
    }

    private mutating func trim(keeping: Int = -1) {
        var i = 0
        while openCount > DirectoryStack.maxOpen, i < fds.count {
            if fds[i] >= 0, i != keeping, i != fds.count - 1 { Sys.close(fds[i]); fds[i] = -1; openCount -= 1 }
            i += 1
        }
    }

    public mutating func closeAll() {
        for fd in fds where fd >= 0 { Sys.close(fd) }
        fds = []
        components = []
        joined = []
        ends = []
        openCount = 0
    }
}
