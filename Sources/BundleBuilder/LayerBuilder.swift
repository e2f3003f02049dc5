import Foundation
import BundleFormat
import BundleCodecs
import BundleCrypto

/// A layer compressed and described, not yet placed in a bundle.
public struct BuiltLayer: Sendable {
    public var name: String
    public var codec: Codec
    public var filter: LayerFilter = .none
    public var records: [FileRecord]
    /// The encoded file table (`FileTable.encode`); `digest` is its BLAKE2b-256.
    public var table: [UInt8]
    /// The table as the bundle stores it: `table` compressed by `FileTableCodec.encode` (one zstd
    /// frame). Made by the initializer; tests may replace it to build hostile bundles.
    public var storedTable: [UInt8]
    public var digest: [UInt8]
    public var compressed: [UInt8]
    public var uncompressedSize: UInt64
    /// The programs (ELF, PE, Mach-O) seen while compressing: for each identity, the first file
    /// (in table order) of it. `BundleAssembler` refuses a layer with one that is not the target's.
    public var executables: [ExecutableIdentity: String] = [:]

    public init(
        name: String, codec: Codec, filter: LayerFilter = .none, records: [FileRecord], table: [UInt8], digest: [UInt8],
        compressed: [UInt8], uncompressedSize: UInt64, executables: [ExecutableIdentity: String] = [:]
    ) throws(BuildError) {
        self.name = name
        self.codec = codec
        self.filter = filter
        self.records = records
        self.table = table
        do { storedTable = try FileTableCodec.encode(table) } catch {
            throw BuildError("layer '\(name)': file table: \(error.message)")
        }
        guard UInt64(storedTable.count) <= Limits.maxFileTableLength, UInt64(table.count) <= Limits.maxFileTableLength
        else {
            throw BuildError("layer '\(name)': file table is larger than \(Limits.maxFileTableLength) bytes")
        }
        self.digest = digest
        self.compressed = compressed
        self.uncompressedSize = uncompressedSize
        self.executables = executables
    }
}

public enum LayerBuilder {
    /// Compresses the layer's regular files, in table order, into one stream.
    /// `progress` receives the number of input bytes consumed since the last call.
    public static func build(_ spec: LayerSpec, progress: @Sendable (Int) -> Void = { _ in }) throws(BuildError)
        -> BuiltLayer
    {
        let files = try TreeScanner.scan(spec.directory, layerName: spec.name)
        guard files.count <= Limits.maxFilesPerLayer else {
            throw BuildError("layer '\(spec.name)': more than \(Limits.maxFilesPerLayer) files")
        }
        var records = files.map(\.record)
        var compressed: [UInt8] = []
        var total: UInt64 = 0
        let declared = records.reduce(UInt64(0)) { $0 + ($1.kind == .regular ? $1.size : 0) }
        let encoder: LayerEncoder
        do {
            encoder = try LayerEncoder(codec: spec.codec, level: spec.level, filter: spec.filter, totalSize: declared)
        } catch { throw BuildError("layer '\(spec.name)': \(error.message)") }
        var executables: [ExecutableIdentity: String] = [:]
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        for (index, f) in files.enumerated() where f.record.kind == .regular {
            guard let source = f.source else { continue }
            let hasher = Blake2b()
            let fd = open(source, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw BuildError("layer '\(spec.name)': cannot open \(source): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var left = f.record.size
            while left > 0 {
                let n = read(fd, buffer.baseAddress, Int(min(UInt64(buffer.count), left)))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    throw BuildError("layer '\(spec.name)': \(source) changed while it was being bundled")
                }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                // A program's format and processor, from its first bytes (read here anyway): no
                // second pass. A regular file's first read returns up to 1 MiB, past any header's end.
                if left == f.record.size,
                    let identity = ExecutableIdentity(prefix: Array(chunk.prefix(ExecutableIdentity.prefixLength))),
                    executables[identity] == nil
                {
                    executables[identity] = f.record.pathString
                }
                hasher.update(chunk)
                do { try encoder.encode(chunk, into: &compressed) } catch {
                    throw BuildError("layer '\(spec.name)': \(error.message)")
                }
                left -= UInt64(n)
                total += UInt64(n)
                progress(n)
            }
            records[index].digest = hasher.finalize()
        }
        do { try encoder.finish(into: &compressed) } catch {
            throw BuildError("layer '\(spec.name)': \(error.message)")
        }
        let table = FileTable.encode(records)
        guard total <= Limits.maxLayerSize else {
            throw BuildError("layer '\(spec.name)': larger than \(Limits.maxLayerSize) bytes")
        }
        return try BuiltLayer(
            name: spec.name, codec: spec.codec, filter: spec.filter, records: records, table: table,
            digest: Blake2b.hash(table), compressed: compressed, uncompressedSize: total, executables: executables)
    }
}
