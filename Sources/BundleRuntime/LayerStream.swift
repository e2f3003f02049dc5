#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCodecs

/// Decodes one layer's compressed bytes from the bundle file, a buffer at a time.
///
/// Memory is two fixed buffers plus the decoder's bounded state, whatever the layer's size.
/// Reading past the declared end, or finding the stream longer or shorter than declared, is an error.
struct LayerStream: ~Copyable {
    private let fd: Int32
    private let layerName: String
    private var nextOffset: UInt64
    private var compressedLeft: UInt64
    private let decoder: Decompressor?   // nil for `.none`: bytes are copied
    private let input: UnsafeMutableRawBufferPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var finished = false

    static let inputBufferSize = 256 << 10

    init(fd: Int32, dataOffset: UInt64, layer: LayerRecord) throws(RuntimeError) {
        self.fd = fd
        self.layerName = layer.name
        self.nextOffset = dataOffset + layer.offset
        self.compressedLeft = layer.compressedSize
        if layer.codec == .none {
            decoder = nil
        } else {
            do { decoder = try Decompressor(codec: layer.codec) } catch { throw RuntimeError("layer '\(layer.name)': \(error.message)") }
        }
        input = .allocate(byteCount: LayerStream.inputBufferSize, alignment: 16)
    }

    deinit { input.deallocate() }

    private mutating func refill() throws(RuntimeError) {
        let n = Int(min(UInt64(input.count), compressedLeft))
        try Sys.preadFully(fd, UnsafeMutableRawBufferPointer(rebasing: input[0..<n]), at: nextOffset, what: "layer '\(layerName)' data")
        nextOffset += UInt64(n)
        compressedLeft -= UInt64(n)
        inputStart = 0
        inputEnd = n
    }

    /// Fills `output` completely with decoded bytes; fails if the stream ends first.
    mutating func readExactly(_ output: UnsafeMutableRawBufferPointer) throws(RuntimeError) {
        var filled = 0
        while filled < output.count {
            let n = try read(UnsafeMutableRawBufferPointer(rebasing: output[filled...]))
            if n == 0 { throw RuntimeError("layer '\(layerName)': data ends before the files it declares (corrupt or truncated)") }
            filled += n
        }
    }

    /// Decodes into `output`; returns 0 only at the end of the stream.
    mutating func read(_ output: UnsafeMutableRawBufferPointer) throws(RuntimeError) -> Int {
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
                throw RuntimeError("layer '\(layerName)': \(error.message)")
            }
            inputStart += step.consumed
            if step.finished { finished = true }
            if step.produced > 0 || finished { return step.produced }
            if step.consumed == 0 && inputStart == inputEnd && compressedLeft == 0 {
                throw RuntimeError("layer '\(layerName)': compressed data is truncated")
            }
            if step.consumed == 0 && inputStart < inputEnd {
                throw RuntimeError("layer '\(layerName)': decoder made no progress (corrupt data)")
            }
        }
    }

    /// After the last file: the stream must end here, with no decoded or compressed bytes left.
    mutating func finish(scratch: UnsafeMutableRawBufferPointer) throws(RuntimeError) {
        let extra = try read(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<1]))
        guard extra == 0 else { throw RuntimeError("layer '\(layerName)': data is longer than the files it declares") }
        guard inputStart == inputEnd, compressedLeft == 0 else {
            throw RuntimeError("layer '\(layerName)': unexpected bytes after the end of the compressed stream")
        }
    }
}
