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
    /// The layer's stored stream: its frames' stored bytes, back to back.
    public var compressed: [UInt8]
    /// Where each frame is in `compressed` and in the decoded stream, with its digest
    /// (`FrameRecord`, docs/format.md "Frame table").
    public var frames: [FrameRecord]
    /// The frame size the layer was cut with (`LayerSpec.frameSize`; the last frame may be shorter,
    /// and a layer smaller than one frame has a single shorter frame).
    public var frameSize: Int = LayerSpec.defaultFrameSize
    public var uncompressedSize: UInt64
    /// The programs (ELF, PE, Mach-O) seen while compressing: for each identity, the first file
    /// (in table order) of it. `BundleAssembler` refuses a layer with one that is not the target's.
    public var executables: [ExecutableIdentity: String] = [:]

    public init(
        name: String, codec: Codec, filter: LayerFilter = .none, records: [FileRecord], table: [UInt8], digest: [UInt8],
        compressed: [UInt8], frames: [FrameRecord], frameSize: Int = LayerSpec.defaultFrameSize,
        uncompressedSize: UInt64, executables: [ExecutableIdentity: String] = [:]
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
        self.frames = frames
        self.frameSize = frameSize
        self.uncompressedSize = uncompressedSize
        self.executables = executables
    }
}

public enum LayerBuilder {
    /// Reads the layer's regular files, in table order, as one decoded stream, cuts it into frames
    /// of `spec.frameSize` bytes (the last may be shorter) and encodes each frame on its own
    /// (`FrameEncoder`), several at a time on all cores. `progress` receives the number of input
    /// bytes consumed since the last call. Memory: the stored layer, and one batch of frames
    /// (cores × frame size) twice over (each frame is copied to be filtered in place).
    public static func build(_ spec: LayerSpec, progress: @Sendable (Int) -> Void = { _ in }) throws(BuildError)
        -> BuiltLayer
    {
        let files = try TreeScanner.scan(spec.directory, layerName: spec.name)
        guard files.count <= Limits.maxFilesPerLayer else {
            throw BuildError("layer '\(spec.name)': more than \(Limits.maxFilesPerLayer) files")
        }
        guard spec.frameSize >= 1, UInt64(spec.frameSize) <= Limits.maxFrameSize else {
            throw BuildError("layer '\(spec.name)': frame size \(spec.frameSize) is outside 1...\(Limits.maxFrameSize)")
        }
        var records = files.map(\.record)
        // The stream's length, which the filter's segments depend on: a file that changes size
        // while it is read fails the build below, so the stream is exactly this long.
        let declared = records.reduce(UInt64(0)) { $0 + ($1.kind == .regular ? $1.size : 0) }
        // Too many frames is refused before anything is compressed.
        let frameCount = (declared + UInt64(spec.frameSize) - 1) / UInt64(spec.frameSize)
        guard frameCount <= UInt64(Limits.maxFramesPerLayer) else {
            throw BuildError(
                "layer '\(spec.name)': \(frameCount) frames of \(spec.frameSize) bytes, over the limit of \(Limits.maxFramesPerLayer); use a larger frame-size"
            )
        }
        var frames = FrameBatcher(spec: spec, streamSize: declared)
        var total: UInt64 = 0
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
                try frames.append(chunk)
                left -= UInt64(n)
                total += UInt64(n)
                progress(n)
            }
            records[index].digest = hasher.finalize()
        }
        try frames.finish()
        let table = FileTable.encode(records)
        guard total <= Limits.maxLayerSize else {
            throw BuildError("layer '\(spec.name)': larger than \(Limits.maxLayerSize) bytes")
        }
        return try BuiltLayer(
            name: spec.name, codec: spec.codec, filter: spec.filter, records: records, table: table,
            digest: Blake2b.hash(table), compressed: frames.stored, frames: frames.records, frameSize: spec.frameSize,
            uncompressedSize: total, executables: executables)
    }
}

/// Collects a layer's decoded stream into frames and encodes them a batch at a time, one frame per
/// core, appending the results in frame order.
private struct FrameBatcher {
    let spec: LayerSpec
    let streamSize: UInt64
    /// The frames read and not encoded yet (the last one filling up).
    var pending: [[UInt8]] = []
    var stored: [UInt8] = []
    var records: [FrameRecord] = []
    var decodedOffset: UInt64 = 0
    let batchSize = max(1, ProcessInfo.processInfo.activeProcessorCount)

    init(spec: LayerSpec, streamSize: UInt64) {
        self.spec = spec
        self.streamSize = streamSize
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws(BuildError) {
        var offset = 0
        while offset < bytes.count {
            if pending.isEmpty || pending[pending.count - 1].count == spec.frameSize {
                if pending.count == batchSize { try encodePending() }
                pending.append([])
                pending[pending.count - 1].reserveCapacity(spec.frameSize)
            }
            let n = min(bytes.count - offset, spec.frameSize - pending[pending.count - 1].count)
            pending[pending.count - 1].append(
                contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
        }
    }

    mutating func finish() throws(BuildError) { try encodePending() }

    private mutating func encodePending() throws(BuildError) {
        guard !pending.isEmpty else { return }
        let results = EncodedFrames(count: pending.count)
        let inputs = pending
        let (codec, level, filter, streamSize) = (spec.codec, spec.level, spec.filter, streamSize)
        var offsets: [UInt64] = []
        var next = decodedOffset
        for input in inputs {
            offsets.append(next)
            next += UInt64(input.count)
        }
        let frameOffsets = offsets
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            var bytes = inputs[i]
            let result: Result<[UInt8], BundleError> = bytes.withUnsafeMutableBytes { b in
                Result { () throws(BundleError) in
                    try FrameEncoder.encode(
                        b, codec: codec, level: level, filter: filter, offset: frameOffsets[i], streamSize: streamSize)
                }
            }
            results.set(i, result)
        }
        for (i, input) in inputs.enumerated() {
            let encoded: [UInt8]
            switch results.get(i) {
            case .success(let e): encoded = e
            case .failure(let error): throw BuildError("layer '\(spec.name)': \(error.message)")
            }
            guard UInt64(encoded.count) <= FrameRecord.maxStoredSize(decodedSize: UInt64(input.count)) else {
                throw BuildError("layer '\(spec.name)': a frame grew beyond the format's bound when compressed")
            }
            records.append(
                FrameRecord(
                    storedOffset: UInt64(stored.count), storedSize: UInt64(encoded.count),
                    decodedOffset: decodedOffset, decodedSize: UInt64(input.count), digest: Blake2b.hash(encoded)))
            stored += encoded
            decodedOffset += UInt64(input.count)
        }
        guard records.count <= Limits.maxFramesPerLayer else {
            throw BuildError(
                "layer '\(spec.name)': more than \(Limits.maxFramesPerLayer) frames; use a larger frame size")
        }
        pending = []
    }
}

/// Results of one batch, written by the encoding threads (each its own index).
private final class EncodedFrames: @unchecked Sendable {
    private var results: [Result<[UInt8], BundleError>?]
    private let lock = NSLock()
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[UInt8], BundleError>) { lock.withLock { results[i] = r } }
    func get(_ i: Int) -> Result<[UInt8], BundleError> { lock.withLock { results[i]! } }
}
