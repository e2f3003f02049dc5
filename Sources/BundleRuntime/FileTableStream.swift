import BundleFormat
import BundleSystem
import BundleCodecs
import BundleCrypto

/// The stored (compressed) bytes of a layer's file table, read from the bundle file a buffer at a time.
public struct StoredTableRegion: ByteSource {
    /// The bundle whose descriptor is read (a reference: the descriptor stays the bundle's).
    private let file: BundleFile
    private var offset: UInt64
    private var left: UInt64
    private let what: String

    init(file: BundleFile, offset: UInt64, length: UInt64, what: String) {
        self.file = file
        self.offset = offset
        self.left = length
        self.what = what
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        let n = Int(min(UInt64(buffer.count), left))
        guard n > 0 else { return 0 }
        let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
        try Sys.preadFully(file.fd, chunk, at: offset, what: what)
        offset += UInt64(n)
        left -= UInt64(n)
        return n
    }
}

/// A layer's decoded file table: read from the bundle file and decoded a buffer at a time
/// (`StoredTableDecoder`), and hashed as it is decoded. The table is never held whole: 256 MiB is
/// the format's limit, far more than the launcher's 64 MiB memory budget (docs/format.md, "Limits").
///
/// A failure of the stored bytes themselves (not a zstd frame, corrupt, truncated, bytes after the
/// frame) is reported as a digest mismatch: the signed digest is of the decoded table, so stored
/// bytes that do not decode cannot be the signed table. A table that decodes to more than the
/// limit keeps its own error (`.tooLarge`): no digest can be computed for it.
public struct TableSource: ByteSource {
    private var decoded: StoredTableDecoder<StoredTableRegion>?
    private var failure: BundleError?
    private let hasher = Blake2b()
    private let layerName: String

    init(file: BundleFile, offset: UInt64, length: UInt64, layerName: String) {
        self.layerName = layerName
        let region = StoredTableRegion(
            file: file, offset: offset, length: length, what: "file table of layer '\(layerName)'")
        do { decoded = try StoredTableDecoder(stored: region) } catch { startFailure = error; decoded = nil }
    }

    /// The decoder could not be created (out of memory): says nothing about the table's bytes.
    private var startFailure: BundleError?

    private func mapped(_ error: BundleError) -> BundleError {
        switch error.code {
        case .codec, .truncated:
            return BundleError(
                .digestMismatch,
                "layer '\(layerName)': file table does not match its digest (the bundle is corrupt or was modified: \(error.message))"
            )
        case .tooLarge:
            return error.prefixed("layer '\(layerName)': ")
        default:
            return error  // an I/O error reading the bundle file says so itself
        }
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        if let startFailure { throw startFailure.prefixed("layer '\(layerName)': file table: ") }
        if let failure { throw mapped(failure) }
        let n: Int
        do { n = try decoded!.read(into: buffer) } catch { failure = error; throw mapped(error) }
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        return n
    }

    /// Reads (and hashes) whatever the reader has not asked for yet.
    mutating func drain() throws(BundleError) {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {}
    }

    /// The digest of everything read; call once, after the last byte.
    func finish() -> [UInt8] { hasher.finalize() }
}

/// The records of one layer's file table, checked one at a time (`FileTable.StreamReader`) and
/// bound to the signed manifest by the table's digest, which is compared when the stream ends.
///
/// A table whose bytes do not match the digest is reported as corrupt or modified, never by the
/// rule its bytes happen to break: on a format error the rest of the table is read and hashed
/// first. Callers that act on records before the end (the extractor) do so only in a private
/// directory that is published after the stream has ended with a matching digest.
public struct FileTableStream {
    private var reader: FileTable.StreamReader<TableSource>
    private let layer: LayerRecord
    private var finished = false

    init(_ bundle: BundleFile, layer: LayerRecord) {
        reader = FileTable.StreamReader(
            source: TableSource(
                file: bundle, offset: bundle.trailer.tables.lowerBound + layer.tableOffset,
                length: layer.tableLength, layerName: layer.name), layer: layer, target: bundle.manifest.target)
        self.layer = layer
    }

    private var digestError: BundleError {
        BundleError(
            .digestMismatch,
            "layer '\(layer.name)': file table does not match its digest (the bundle is corrupt or was modified)")
    }

    public mutating func next() throws(BundleError) -> FileRecord? {
        if finished { return nil }
        let record: FileRecord?
        do { record = try reader.next() } catch {
            finished = true
            var source = reader.source
            try source.drain()
            guard source.finish() == layer.digest else { throw digestError }
            throw error
        }
        if record == nil {
            finished = true
            guard reader.source.finish() == layer.digest else { throw digestError }
        }
        return record
    }
}

extension BundleFile {
    /// Streams a layer's file table: bounded memory, checked record by record, digest checked at the end.
    public func fileTableStream(of layer: LayerRecord) -> FileTableStream { FileTableStream(self, layer: layer) }
}
