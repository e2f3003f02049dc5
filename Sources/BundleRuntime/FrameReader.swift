import BundleFormat
import BundleSystem
import BundleCodecs
import BundleCrypto

/// Reads, checks and decodes one frame of a layer at a time (format version 3, docs/format.md
/// "Frame table"): the work of one decoding thread, or of the writer's own when there is none.
///
/// Hash once, before decoding (docs/security.md): the frame's stored bytes are read with one
/// `pread` into this reader's private buffer, hashed there and compared with the frame's signed
/// digest; only then does the decoder see them. A modified frame is therefore reported as modified,
/// and no decoder ever parses bytes the signature does not cover. The decoded bytes go to the
/// caller's buffer and the filter, if any, is undone there, frame by frame.
///
/// Memory: one buffer for the layer's largest stored frame (none for codec `none`, whose bytes are
/// read straight into the output) and the decoder's state, reused from frame to frame.
final class FrameReader {
    private let file: BundleFile
    private let layer: LayerRecord
    /// Absolute offset of the layer's stored stream in the bundle file.
    private let base: UInt64
    private let decompressor: FrameDecompressor
    private let stored: UnsafeMutableRawBufferPointer

    init(file: BundleFile, layer: LayerRecord) throws(BundleError) {
        self.file = file
        self.layer = layer
        self.base = file.trailer.layers.lowerBound + layer.offset
        do { decompressor = try FrameDecompressor(codec: layer.codec) } catch {
            throw error.prefixed("layer '\(layer.name)': ")
        }
        let largest = layer.codec == .none ? 0 : Int(layer.frames.map { $0.storedSize }.max() ?? 0)
        stored =
            largest == 0
            ? UnsafeMutableRawBufferPointer(start: nil, count: 0) : .allocate(byteCount: largest, alignment: 16)
    }

    deinit { stored.deallocate() }

    /// Decodes frame `index` into the start of `output` (at least the frame's decoded size).
    func decode(_ index: Int, into output: UnsafeMutableRawBufferPointer) throws(BundleError) {
        let frame = layer.frames[index]
        let decoded = UnsafeMutableRawBufferPointer(rebasing: output[0..<Int(frame.decodedSize)])
        let input =
            layer.codec == .none ? decoded : UnsafeMutableRawBufferPointer(rebasing: stored[0..<Int(frame.storedSize)])
        try Sys.preadFully(file.fd, input, at: base + frame.storedOffset, what: "layer '\(layer.name)' data")
        let hasher = Blake2b()
        hasher.update(UnsafeRawBufferPointer(input))
        guard hasher.finalize() == frame.digest else {
            throw BundleError(
                .digestMismatch,
                "layer '\(layer.name)': frame \(index) does not match its digest (the bundle is corrupt or was modified)"
            )
        }
        if layer.codec != .none {
            do { try decompressor.decode(UnsafeRawBufferPointer(input), into: decoded) } catch {
                throw error.prefixed("layer '\(layer.name)' frame \(index): ")
            }
        }
        FrameFilter.run(
            layer.filter, encoding: false, decoded, streamSize: layer.uncompressedSize, position: frame.decodedOffset)
    }
}
