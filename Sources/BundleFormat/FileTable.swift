/// What kind of thing a file-table record creates.
public enum FileKind: UInt8, Sendable {
    case directory = 0
    case regular = 1
    case symlink = 2
}

/// One record of a layer's file table (docs/format.md, "File table").
public struct FileRecord: Equatable, Sendable {
    public var kind: FileKind
    /// Permission bits as recorded by the builder (at most 0o777); the stub masks them further.
    public var mode: UInt32
    /// Length of the file's content in the layer stream; 0 for directories and symlinks.
    public var size: UInt64
    /// Layer-relative path, `/`-separated, checked by `PathRules`.
    public var path: [UInt8]
    /// BLAKE2b-256 of the content (regular files only; empty otherwise).
    public var digest: [UInt8]
    /// Link target (symlinks only; empty otherwise).
    public var linkTarget: [UInt8]

    public init(
        kind: FileKind, mode: UInt32, size: UInt64, path: [UInt8], digest: [UInt8] = [], linkTarget: [UInt8] = []
    ) {
        self.kind = kind
        self.mode = mode
        self.size = size
        self.path = path
        self.digest = digest
        self.linkTarget = linkTarget
    }

    public var pathString: String { String(decoding: path, as: UTF8.self) }
}

public enum FileTable {
    /// Encodes records, which must already be in strictly increasing byte order of path.
    public static func encode(_ records: [FileRecord]) -> [UInt8] {
        var w = ByteWriter()
        for f in records {
            w.u8(f.kind.rawValue)
            w.u32(f.mode)
            w.u64(f.size)
            w.string(f.path)
            switch f.kind {
            case .regular: w.raw(f.digest)
            case .symlink: w.string(f.linkTarget)
            case .directory: break
            }
        }
        return w.bytes
    }

    /// Decodes and checks a whole table (tools and tests; the launcher streams with `StreamReader`).
    public static func decode(_ bytes: UnsafeRawBufferPointer, layer: LayerRecord, target: BuildTarget = .default)
        throws(BundleError) -> [FileRecord]
    {
        try decode(Array(bytes), layer: layer, target: target)
    }

    public static func decode(_ bytes: [UInt8], layer: LayerRecord, target: BuildTarget = .default)
        throws(BundleError) -> [FileRecord]
    {
        var reader = Reader(bytes, layer: layer, target: target)
        var out: [FileRecord] = []
        while let f = try reader.next() { out.append(f) }
        return out
    }

    /// A reader over a table already in memory.
    public typealias Reader = StreamReader<ArraySource>

    /// Reads a table one record at a time from a `ByteSource`, checking as it goes: path rules,
    /// strictly increasing order (so no duplicates, and a directory comes before what it holds),
    /// every parent a directory listed earlier, symlinks that stay inside the layer, and — at the
    /// end — the declared file count and total size.
    ///
    /// Memory is bounded whatever the table's length (docs/format.md, "Limits"): one 64 KiB read
    /// buffer, the previous path, and the directories that could still receive children
    /// (`OpenDirectories`), never the table itself or the set of every directory.
    ///
    /// The path rules are those of `target`, the manifest's (`PathRules`): for a Windows target
    /// they refuse symlinks too. For Windows and macOS the reader also refuses a path equal to an
    /// earlier one ignoring ASCII case (`CaseFoldedPaths`: one 64-bit hash per path that holds a
    /// capital letter).
    public struct StreamReader<Source: ByteSource> {
        private var r: StreamingByteReader<Source>
        private let layer: LayerRecord
        private let target: BuildTarget
        /// Windows and macOS only: the folded paths seen so far that a later path could equal.
        private var folded = CaseFoldedPaths()
        private var previous: [UInt8] = []
        /// The directories that may still receive children (see `OpenDirectories`).
        private var openDirectories = OpenDirectories<Void>()
        private var count = 0
        private var total: UInt64 = 0
        private var done = false

        public init(source: Source, layer: LayerRecord, target: BuildTarget) {
            self.r = StreamingByteReader(source, what: "file table of layer '\(layer.name)'")
            self.layer = layer
            self.target = target
        }

        /// The source, so that a caller can read (and hash) what is left after an error.
        public var source: Source {
            get { r.source }
            set { r.source = newValue }
        }

        private func fail(_ what: String) -> BundleError {
            BundleError(.badFileTable, "layer '\(layer.name)': \(what)")
        }

        public mutating func next() throws(BundleError) -> FileRecord? {
            if done { return nil }
            if try r.isAtEnd() {
                done = true
                guard count == layer.fileCount else {
                    throw fail("file table holds \(count) files, the manifest says \(layer.fileCount)")
                }
                guard total == layer.uncompressedSize else {
                    throw fail("files add up to \(total) bytes, the manifest says \(layer.uncompressedSize)")
                }
                return nil
            }
            guard count < layer.fileCount else {
                throw fail("file table holds more than the \(layer.fileCount) files declared")
            }
            let kindByte = try r.u8()
            guard let kind = FileKind(rawValue: kindByte) else { throw fail("unknown file type \(kindByte)") }
            let mode = try r.u32()
            guard mode & ~0o777 == 0 else { throw fail("file mode 0o\(String(mode, radix: 8)) has bits beyond 0o777") }
            let size = try r.u64()
            let path = try r.bytes(limit: Limits.maxPathLength, field: "path")
            do { try PathRules.check(path, for: target) } catch {
                throw error.prefixed("layer '\(layer.name)': unsafe path '\(TerminalText.shown(path))': ")
            }
            guard count == 0 || previous.lexicographicallyPrecedes(path) else {
                throw fail(
                    path == previous
                        ? "duplicate path '\(TerminalText.shown(path))'"
                        : "path '\(TerminalText.shown(path))' is out of order")
            }
            try checkParent(path)
            if PathRules.ignoresCase(target) {
                do { try folded.insert(path) } catch {
                    throw BundleError(
                        .badPath,
                        "layer '\(layer.name)': unsafe path '\(TerminalText.shown(path))': \(error.description)")
                }
            }
            var record = FileRecord(kind: kind, mode: mode, size: size, path: path)
            switch kind {
            case .regular:
                record.digest = try r.raw(Manifest.digestLength)
                let (sum, overflow) = total.addingReportingOverflow(size)
                guard !overflow, sum <= layer.uncompressedSize else {
                    throw fail("files add up to more than the declared \(layer.uncompressedSize) bytes")
                }
                total = sum
            case .symlink:
                guard size == 0 else { throw fail("symlink '\(TerminalText.shown(path))' has a size") }
                record.linkTarget = try r.bytes(limit: Limits.maxPathLength, field: "link target")
                do { try PathRules.checkSymlink(path: path, target: record.linkTarget, for: target) } catch {
                    throw error.prefixed("layer '\(layer.name)': symlink '\(TerminalText.shown(path))': ")
                }
            case .directory:
                guard size == 0 else { throw fail("directory '\(TerminalText.shown(path))' has a size") }
                openDirectories.push(path, ())
            }
            previous = path
            count += 1
            return record
        }

        /// Drops the directories `path` has moved past, then requires its parent among the rest.
        private mutating func checkParent(_ path: [UInt8]) throws(BundleError) {
            _ = openDirectories.advance(from: previous, to: path)
            guard let slash = path.lastIndex(of: 0x2F) else { return }
            guard openDirectories.contains(length: slash) else {
                throw fail("'\(TerminalText.shown(path))' has no parent directory listed before it")
            }
        }
    }
}

extension FileTable.StreamReader where Source == ArraySource {
    public init(_ bytes: [UInt8], layer: LayerRecord, target: BuildTarget = .default) {
        self.init(source: ArraySource(bytes), layer: layer, target: target)
    }
    public init(_ bytes: UnsafeRawBufferPointer, layer: LayerRecord, target: BuildTarget = .default) {
        self.init(Array(bytes), layer: layer, target: target)
    }
}

/// The case check of a Windows or macOS layer's table, in bounded memory: a table can hold 1,000,000 paths
/// (`Limits.maxFilesPerLayer`) and is read a record at a time, so the names of a directory are
/// never all in memory at once.
///
/// Two paths equal ignoring ASCII case (`A/x` and `a/x` differ in a directory already, so
/// comparing whole paths is comparing names within one directory) are not neighbours in the
/// table's byte order (`B` sorts between `A` and `a`). But of two such paths the one that sorts
/// first has a capital where they first differ (A-Z sort before a-z). So the reader keeps the
/// 64-bit hash of the folded form of each path that holds a capital, and looks every path up
/// among them: 8 bytes per such path, at most 16 MiB of slots at the limit, and nothing at all
/// for a table in lowercase.
///
/// Two different folded paths with the same hash are refused as if equal. The builder runs this
/// same reader over the table it writes (`NameCheck`), so both sides give the same verdict; for
/// a million paths the chance is below 1 in 10^7, and the builder then says what happened.
struct CaseFoldedPaths {
    private var slots: [UInt64] = []
    private var used = 0

    /// FNV-1a over the path with A-Z folded to a-z, then a final mix (FNV's low bits, which pick
    /// the slot, are weak). Never 0: 0 marks an empty slot.
    static func hash(_ path: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in path { h = (h ^ UInt64(PathRules.asciiLowercase(b))) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        return h == 0 ? 1 : h
    }

    /// Refuses `path` if its folded form's hash is already here, then keeps it if a later path
    /// could equal it ignoring case (it holds a capital).
    mutating func insert(_ path: [UInt8]) throws(PathRules.Violation) {
        let h = CaseFoldedPaths.hash(path)
        if !slots.isEmpty {
            var i = Int(truncatingIfNeeded: h) & (slots.count - 1)
            while slots[i] != 0 {
                if slots[i] == h { throw .caseCollision }
                i = (i + 1) & (slots.count - 1)
            }
        }
        guard path.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return }
        if (used + 1) * 2 > slots.count { grow() }
        var i = Int(truncatingIfNeeded: h) & (slots.count - 1)
        while slots[i] != 0 { i = (i + 1) & (slots.count - 1) }
        slots[i] = h
        used += 1
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: max(64, old.count * 2))
        for h in old where h != 0 {
            var i = Int(truncatingIfNeeded: h) & (slots.count - 1)
            while slots[i] != 0 { i = (i + 1) & (slots.count - 1) }
            slots[i] = h
        }
    }
}
