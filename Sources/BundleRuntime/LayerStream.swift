import BundleFormat
import BundleSystem
import BundleCodecs
import BundleCrypto

/// Decodes one layer's compressed bytes from the bundle file, a buffer at a time, and undoes
/// the layer's filter (if any).
///
/// Memory is fixed buffers plus the decoder's bounded state, whatever the layer's size.
/// Reading past the declared end, or finding the stream longer or shorter than declared, is an error.
///
/// Every stored byte is hashed in the buffer it is decoded from (one `pread`, never a second read
/// of the file), and `finish()` compares the hash with the layer's signed data digest: a stream
/// that finishes has decoded exactly the bytes the builder wrote (docs/security.md, "Hash once").
/// When decoding fails, the rest of the stored stream is hashed first, so a modified bundle is
/// reported as such rather than by whatever the decoder happened to trip on.
struct LayerStream: ~Copyable {
    /// The bundle whose descriptor is read (a reference: the descriptor stays the bundle's).
    private let file: BundleFile
    private let layerName: String
    private var nextOffset: UInt64
    private var compressedLeft: UInt64
    private let decoder: Decompressor?  // nil for `.none`: bytes are copied
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var finished = false
    /// For a filtered layer: the filter, and decoded bytes staged for it. `staged[0..<ready]`
    /// is final (`readPos` is where the caller's reads have got to); `staged[ready..<end]` is an
    /// operand the filter has not seen whole yet, kept for the next decode.
    private var filter: X86BranchFilter?
    private let staged: UnsafeMutableRawBufferPointer
    private var readPos = 0
    private var ready = 0
    private var end = 0
    private var decodedAll = false
    private let hasher = Blake2b()
    private let dataDigest: [UInt8]

    static let inputBufferSize = 256 << 10
    static let stagingBufferSize = 256 << 10

    init(file: BundleFile, dataOffset: UInt64, layer: LayerRecord) throws(BundleError) {
        self.file = file
        self.layerName = layer.name
        self.nextOffset = dataOffset + layer.offset
        self.compressedLeft = layer.compressedSize
        self.dataDigest = layer.dataDigest
        if layer.codec == .none {
            decoder = nil
        } else {
            do { decoder = try Decompressor(codec: layer.codec) } catch {
                throw error.prefixed("layer '\(layer.name)': ")
            }
        }
        input = .allocate(byteCount: LayerStream.inputBufferSize, alignment: 16)
        switch layer.filter {
        case .none:
            filter = nil
            staged = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        case .x86:
            filter = X86BranchFilter(encoding: false, totalSize: layer.uncompressedSize)
            staged = .allocate(byteCount: LayerStream.stagingBufferSize, alignment: 16)
        }
    }

    deinit {
        input.deallocate()
        staged.deallocate()
    }

    private mutating func refill() throws(BundleError) {
        let n = Int(min(UInt64(input.count), compressedLeft))
        try Sys.preadFully(
            file.fd, UnsafeMutableRawBufferPointer(rebasing: input[0..<n]), at: nextOffset,
            what: "layer '\(layerName)' data"
        )
        hasher.update(UnsafeRawBufferPointer(rebasing: input[0..<n]))
        nextOffset += UInt64(n)
        compressedLeft -= UInt64(n)
        inputStart = 0
        inputEnd = n
    }

    /// Hands the layer's filter to the caller, who must then undo it on the bytes `read` returns
    /// (`DecodePipeline` runs it on the writer's thread, to balance the two threads).
    mutating func takeFilter() -> X86BranchFilter? {
        defer { filter = nil }
        return filter
    }

    /// Fills `output` completely with decoded bytes; fails if the stream ends first.
    mutating func readExactly(_ output: UnsafeMutableRawBufferPointer) throws(BundleError) {
        var filled = 0
        while filled < output.count {
            let n = try read(UnsafeMutableRawBufferPointer(rebasing: output[filled...]))
            if n == 0 {
                throw try modifiedOr(
                    BundleError(
                        .truncated,
                        "layer '\(layerName)': data ends before the files it declares (corrupt or truncated)"))
            }
            filled += n
        }
    }

    /// Decodes into `output` (and undoes the filter); returns 0 only at the end of the stream.
    mutating func read(_ output: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        guard filter != nil else { return try readDecoded(output) }
        while readPos == ready {
            if decodedAll && ready == end { return 0 }
            try refillStaged()
        }
        let n = min(output.count, ready - readPos)
        output.baseAddress!.copyMemory(from: staged.baseAddress! + readPos, byteCount: n)
        readPos += n
        return n
    }

    /// Moves the unfinished tail to the front, decodes more after it, and runs the filter.
    private mutating func refillStaged() throws(BundleError) {
        let tail = end - ready
        if tail > 0 { staged.baseAddress!.copyMemory(from: staged.baseAddress! + ready, byteCount: tail) }
        readPos = 0; ready = 0; end = tail
        while end < staged.count && !decodedAll {
            let n = try readDecoded(UnsafeMutableRawBufferPointer(rebasing: staged[end...]))
            if n == 0 { decodedAll = true } else { end += n }
            if end - tail >= 4 { break }  // enough to settle at least the kept operand
        }
        ready = filter!.process(UnsafeMutableRawBufferPointer(rebasing: staged[0..<end]), atEnd: decodedAll)
    }

    /// Decodes into `output` without the filter; returns 0 only at the end of the stream.
    private mutating func readDecoded(_ output: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        while true {
            if inputStart == inputEnd, compressedLeft > 0 { try refill() }
            let available = UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd])
            guard let decoder else {
                let n = min(available.count, output.count)
                if n > 0 { output.baseAddress!.copyMemory(from: available.baseAddress!, byteCount: n) }
                inputStart += n
                return n
            }
            if finished { return 0 }
            let step: (consumed: Int, produced: Int, finished: Bool)
            do { step = try decoder.decode(available, into: output) } catch {
                throw try modifiedOr(error.prefixed("layer '\(layerName)': "))
            }
            inputStart += step.consumed
            if step.finished { finished = true }
            if step.produced > 0 || finished { return step.produced }
            if step.consumed == 0 && inputStart == inputEnd && compressedLeft == 0 {
                throw try modifiedOr(BundleError(.truncated, "layer '\(layerName)': compressed data is truncated"))
            }
            if step.consumed == 0 && inputStart < inputEnd {
                throw try modifiedOr(
                    BundleError(.codec, "layer '\(layerName)': decoder made no progress (corrupt data)"))
            }
        }
    }

    /// After the last file: the stream must end here, with no decoded or compressed bytes left,
    /// and the stored bytes must match the layer's data digest.
    mutating func finish(scratch: UnsafeMutableRawBufferPointer) throws(BundleError) {
        let extra = try read(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<1]))
        guard extra == 0 else {
            throw try modifiedOr(BundleError(.codec, "layer '\(layerName)': data is longer than the files it declares"))
        }
        guard inputStart == inputEnd, compressedLeft == 0 else {
            throw try modifiedOr(
                BundleError(.codec, "layer '\(layerName)': unexpected bytes after the end of the compressed stream"))
        }
        guard hasher.finalize() == dataDigest else { throw modified }
    }

    private var modified: BundleError {
        BundleError(
            .digestMismatch,
            "layer '\(layerName)': data does not match its digest (the bundle is corrupt or was modified)")
    }

    /// On a decoding failure: hashes the stored bytes not read yet and returns the digest error
    /// if they do not match, else `error` (a signed stream that is itself inconsistent).
    private mutating func modifiedOr(_ error: BundleError) throws(BundleError) -> BundleError {
        while compressedLeft > 0 { try refill() }
        return hasher.finalize() == dataDigest ? error : modified
    }
}
