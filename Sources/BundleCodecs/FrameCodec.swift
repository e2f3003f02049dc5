// Whole-frame coding for format version 3: a layer's stored stream is a sequence of frames, each
// one complete zstd frame, xz stream or zlib stream (docs/format.md, "Frame table"). A frame is
// decoded in one call from a buffer holding all its stored bytes into one holding all its decoded
// bytes, so no decoder keeps a window of its own (zstd decodes straight into the output).

import BundleFormat
import CZstd
import CLZMA
import CInflate

/// Decodes whole frames, one at a time, reusing the C library's state between them (one instance
/// per decoding thread). Every frame must decode to exactly the bytes its record declares and end
/// exactly at the end of its stored bytes; anything else is a `BundleError` (`.codec`), never a
/// partial result.
public final class FrameDecompressor {
    private let state: DecoderState
    public let codec: Codec

    public init(codec: Codec) throws(BundleError) {
        self.codec = codec
        switch codec {
        case .none:
            state = .none
        case .zstd:
            state = .zstd(try DecoderState.newZstd())
        case .xz:
            state = .xz(DecoderState.newXz())
        case .zlib:
            state = .zlib(try DecoderState.newZlib())
        }
    }

    deinit { state.release() }

    /// Decodes the frame in `input` (all its stored bytes) into `output`, which it must fill
    /// exactly. `.none` copies (the sizes are equal by the frame table's rules).
    public func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(BundleError)
    {
        switch state {
        case .none:
            guard input.count == output.count else {
                throw BundleError(.codec, "none: \(input.count) stored bytes for \(output.count) decoded ones")
            }
            if input.count > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: input.count) }

        case .zstd(let ctx):
            // Exactly one frame, nothing after it: a second frame or a skippable one is refused.
            let frameSize = ZSTD_findFrameCompressedSize(input.baseAddress, input.count)
            if ZSTD_isError(frameSize) != 0 {
                throw DecoderErrors.zstd(frameSize, windowLogMax: Limits.zstdMaxWindowLog)
            }
            guard frameSize == input.count else {
                throw BundleError(.codec, "zstd: \(input.count - frameSize) unexpected bytes after the frame")
            }
            let r = ZSTD_decompressDCtx(ctx, output.baseAddress, output.count, input.baseAddress, input.count)
            if ZSTD_isError(r) != 0 { throw DecoderErrors.zstd(r, windowLogMax: Limits.zstdMaxWindowLog) }
            guard r == output.count else {
                throw BundleError(.codec, "zstd: frame decodes to \(r) bytes, not the \(output.count) declared")
            }

        case .xz(let s):
            // Re-initialising an existing stream reuses its dictionary when the size is unchanged.
            try DecoderState.startXz(s)
            s.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_in = input.count
            s.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_out = output.count
            let r = lzma_code(s, LZMA_FINISH)
            let inLeft = s.pointee.avail_in
            let outLeft = s.pointee.avail_out
            s.pointee.next_in = nil  // keep no pointers into the caller's buffers
            s.pointee.next_out = nil
            switch r {
            case LZMA_STREAM_END:
                guard inLeft == 0 else { throw BundleError(.codec, "xz: \(inLeft) unexpected bytes after the stream") }
                guard outLeft == 0 else {
                    throw BundleError(
                        .codec,
                        "xz: stream decodes to \(output.count - outLeft) bytes, not the \(output.count) declared")
                }
            case LZMA_OK, LZMA_BUF_ERROR:
                throw BundleError(
                    .codec,
                    outLeft == 0
                        ? "xz: stream decodes to more than the \(output.count) bytes declared"
                        : "xz: stream is truncated")
            default: throw DecoderErrors.xz(r)
            }

        case .zlib(let s):
            // Frames are at most `Limits.maxFrameSize` bytes, so the counts fit zlib's 32 bits.
            let inflater = UnsafeMutableRawPointer(s)
            guard cinflate_reset(inflater) == CINFLATE_OK else {
                throw BundleError(.codec, "zlib: cannot reset the decoder")
            }
            var inLeft32: UInt32 = 0
            var outLeft32: UInt32 = 0
            let r = cinflate_run(
                inflater, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(input.count),
                output.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(output.count), 1, &inLeft32, &outLeft32)
            let inLeft = Int(inLeft32)
            let outLeft = Int(outLeft32)
            switch r {
            case CINFLATE_STREAM_END:
                guard inLeft == 0 else {
                    throw BundleError(.codec, "zlib: \(inLeft) unexpected bytes after the stream")
                }
                guard outLeft == 0 else {
                    throw BundleError(
                        .codec,
                        "zlib: stream decodes to \(output.count - outLeft) bytes, not the \(output.count) declared")
                }
            case CINFLATE_OK, CINFLATE_BUF_ERROR:
                throw BundleError(
                    .codec,
                    outLeft == 0
                        ? "zlib: stream decodes to more than the \(output.count) bytes declared"
                        : "zlib: stream is truncated")
            case CINFLATE_MEM_ERROR: throw BundleError(.codec, "zlib: out of memory")
            case CINFLATE_NEED_DICT: throw BundleError(.codec, "zlib: stream asks for a preset dictionary (not allowed)")
            default: throw BundleError(.codec, "zlib: corrupt data")
            }
        }
    }
}

#if !LAUNCHER_DECODE_ONLY
    /// Encodes a layer's decoded stream as frames (the packaging side of `FrameDecompressor`).
    public enum FrameEncoder {
        /// Encodes one frame: `bytes` (which it filters in place) become one complete stream of
        /// `codec` at `level`. `offset` is the frame's position in the layer's decoded stream of
        /// `streamSize` bytes, which the filter's positions are taken in. The zstd frame records its
        /// content size; the xz dictionary is no larger than the frame (at least 4 KiB), so a
        /// decoding thread allocates no more than it needs.
        public static func encode(
            _ bytes: UnsafeMutableRawBufferPointer, codec: Codec, level: Int, filter: LayerFilter, offset: UInt64,
            streamSize: UInt64
        ) throws(BundleError) -> [UInt8] {
            FrameFilter.run(filter, encoding: true, bytes, streamSize: streamSize, position: offset)
            let c = try Compressor(codec: codec, level: level, frameSize: bytes.count)
            var out: [UInt8] = []
            try c.compress(UnsafeRawBufferPointer(bytes), into: &out)
            try c.finish(into: &out)
            return out
        }
    }
#endif

/// The one place a frame's filter is applied or undone (`FrameEncoder`, `FrameReader`,
/// `CompressionChoice`): positions are the layer's decoded stream's (`streamSize` bytes), the
/// frame's first byte at `position` (docs/format.md, "The filter, per frame").
public enum FrameFilter {
    public static func run(
        _ filter: LayerFilter, encoding: Bool, _ frame: UnsafeMutableRawBufferPointer, streamSize: UInt64,
        position: UInt64
    ) {
        switch filter {
        case .none: return
        case .x86:
            var f = X86BranchFilter(encoding: encoding, totalSize: streamSize, position: position)
            _ = f.process(frame, atEnd: true)
        case .arm64:
            var f = Arm64BranchFilter(encoding: encoding, totalSize: streamSize, position: position)
            _ = f.process(frame, atEnd: true)
        }
    }
}
