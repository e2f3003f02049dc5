// Streaming compression for bundle layers: zstd, xz, zlib and `.none`.
//
// This module is linked into the fully static launcher stub, so it imports no Foundation
// and keeps memory bounded: a decoder owns only the C library's state, whose size the
// limits in `BundleFormat.Limits` cap whatever a (possibly hostile) stream declares.
// Data is passed straight between the caller's buffers and the C libraries: no per-byte
// Swift loops and no intermediate arrays on the decode path.

import BundleFormat
import CZstd
import CLZMA
import CInflate
import CZlib

// Failures are `BundleError`s with one short sentence ("zstd: corrupt data"): `.codec` for
// corrupt or foreign data and codecs that cannot start, `.tooLarge` for streams over the
// decoder limits or the caller's output limit, `.truncated` for a cut stream, `.usage` for a
// level out of range or a stream used after it finished.

/// zlib counts bytes in `uInt` (32 bits): larger buffers are handed over in pieces.
private let zlibMaxChunk = Int(UInt32.max)

/// Streaming decoder. One instance decodes one layer stream.
///
/// The decoder limits are applied when it is created, so a stream that asks for more memory
/// than the launcher allows fails with a `BundleError` (`.tooLarge`) instead of allocating it:
/// zstd windows above 2^`Limits.zstdMaxWindowLog` bytes, xz streams needing more than
/// `Limits.xzMemoryLimit` bytes. The final class owns the C state and frees it in `deinit`.
public final class Decompressor {
    private let state: DecoderState
    private let codec: Codec
    /// Set once the end of the compressed stream has been decoded. Later calls report the end
    /// again and consume nothing, so bytes after the stream are left to the caller (trailing
    /// garbage) instead of being decoded as a second zstd frame.
    private var ended = false
    /// The largest zstd window this decoder accepts (log2 of bytes).
    private let zstdWindowLogMax: Int32

    /// Creates a decoder for `codec` with the launcher's memory limits:
    /// zstd `ZSTD_d_windowLogMax = zstdWindowLogMax` (`Limits.zstdMaxWindowLog` for layers,
    /// the smaller `Limits.fileTableWindowLog` for file tables); xz a single-stream
    /// `lzma_stream_decoder` with memlimit `Limits.xzMemoryLimit`; zlib the zlib format
    /// (windowBits 15, neither raw deflate nor gzip), which is what `Compressor` writes.
    public init(codec: Codec, zstdWindowLogMax: Int32 = Limits.zstdMaxWindowLog) throws(BundleError) {
        self.codec = codec
        self.zstdWindowLogMax = zstdWindowLogMax
        switch codec {
        case .none:
            state = .none
        case .zstd:
            let ctx = try DecoderState.newZstd()
            let r = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, zstdWindowLogMax)
            guard ZSTD_isError(r) == 0 else {
                ZSTD_freeDCtx(ctx); throw BundleError(.codec, "zstd: cannot set the window limit")
            }
            state = .zstd(ctx)
        case .xz:
            let strm = DecoderState.newXz()
            do { try DecoderState.startXz(strm) } catch {
                DecoderState.xz(strm).release()
                throw error
            }
            state = .xz(strm)
        case .zlib:
            state = .zlib(try DecoderState.newZlib())
        }
    }

    deinit { state.release() }

    /// Decodes as much as possible of `input` into `output`. Returns bytes consumed from input,
    /// bytes written to output, and whether the end of the compressed stream was reached.
    ///
    /// - `finished` becomes true once the whole stream (for zstd: one frame) is decoded and
    ///   flushed; unconsumed input after that is not part of the stream. Later calls return
    ///   `(0, 0, true)`.
    /// - Truncation is the caller's to detect: at end of input it calls with an empty `input`;
    ///   with nothing left to flush this returns `(0, 0, false)` (never loops, never throws),
    ///   which means the stream is cut short.
    /// - `.none` copies `min(input.count, output.count)` bytes and never sets `finished` by
    ///   itself: an uncompressed layer has no end marker, its size is known to the caller.
    /// - Corrupt data and streams over the memory limits throw, e.g. "zstd: frame requires too
    ///   much memory (window larger than 16 MiB)", "xz: corrupt data", "zlib: corrupt data".
    public func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(BundleError)
        -> (consumed: Int, produced: Int, finished: Bool)
    {
        if ended { return (0, 0, true) }
        switch state {
        case .none:
            let n = min(input.count, output.count)
            if n > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: n) }
            return (n, n, false)

        case .zstd(let ctx):
            var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var outb = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let r = ZSTD_decompressStream(ctx, &outb, &inb)
            if ZSTD_isError(r) != 0 { throw DecoderErrors.zstd(r, windowLogMax: zstdWindowLogMax) }
            // 0 means a frame is completely decoded and flushed; one frame is one stream.
            if r == 0 { ended = true }
            return (inb.pos, outb.pos, ended)

        case .xz(let s):
            s.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_in = input.count
            s.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_out = output.count
            // Always LZMA_RUN: a single-stream decoder finds the end from the stream footer,
            // and LZMA_FINISH would forbid feeding more input later (LZMA_PROG_ERROR).
            let r = lzma_code(s, LZMA_RUN)
            let consumed = input.count - s.pointee.avail_in
            let produced = output.count - s.pointee.avail_out
            s.pointee.next_in = nil  // do not keep pointers into the caller's buffers
            s.pointee.next_out = nil
            switch r {
            case LZMA_OK, LZMA_BUF_ERROR:  // BUF_ERROR: no progress possible now; not fatal
                return (consumed, produced, false)
            case LZMA_STREAM_END:
                ended = true
                return (consumed, produced, true)
            default: throw DecoderErrors.xz(r)
            }

        case .zlib(let s):
            let inCount = min(input.count, zlibMaxChunk)
            let outCount = min(output.count, zlibMaxChunk)
            var inLeft: UInt32 = 0
            var outLeft: UInt32 = 0
            let r = cinflate_run(
                UnsafeMutableRawPointer(s), input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(inCount),
                output.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(outCount), 0, &inLeft, &outLeft)
            let consumed = inCount - Int(inLeft)
            let produced = outCount - Int(outLeft)
            switch r {
            case CINFLATE_OK, CINFLATE_BUF_ERROR:  // BUF_ERROR: no progress possible now; not fatal
                return (consumed, produced, false)
            case CINFLATE_STREAM_END:
                ended = true
                return (consumed, produced, true)
            case CINFLATE_MEM_ERROR: throw BundleError(.codec, "zlib: out of memory")
            default: throw BundleError(.codec, "zlib: corrupt data")  // DATA_ERROR, NEED_DICT, STREAM_ERROR
            }
        }
    }
}

/// The C library state a decoder owns, freed by `release()`: shared by the streaming `Decompressor`
/// and the whole-frame `FrameDecompressor`, which differ only in how they drive it.
enum DecoderState {
    case none
    case zstd(OpaquePointer)
    case xz(UnsafeMutablePointer<lzma_stream>)
    /// zlib's inflater through CInflate (its z_stream is the C side's: see CInflate.h).
    case zlib(OpaquePointer)

    static func newZstd() throws(BundleError) -> OpaquePointer {
        guard let ctx = ZSTD_createDCtx() else { throw BundleError(.codec, "zstd: out of memory") }
        return ctx
    }

    /// An xz stream, not started yet (`startXz`).
    static func newXz() -> UnsafeMutablePointer<lzma_stream> {
        let strm = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
        clzma_stream_init(strm)
        return strm
    }

    /// (Re)starts `strm` as a single-stream .xz decoder within `Limits.xzMemoryLimit`.
    static func startXz(_ strm: UnsafeMutablePointer<lzma_stream>) throws(BundleError) {
        let r = lzma_stream_decoder(strm, Limits.xzMemoryLimit, 0)
        guard r == LZMA_OK else {
            throw BundleError(
                .codec, r == LZMA_MEM_ERROR ? "xz: out of memory" : "xz: cannot start the decoder (\(r.rawValue))")
        }
    }

    /// A zlib inflater for the zlib format (windowBits 15: neither raw deflate nor gzip).
    static func newZlib() throws(BundleError) -> OpaquePointer {
        var inflater: UnsafeMutableRawPointer? = nil
        let r = cinflate_new(&inflater)
        guard r == CINFLATE_OK, let inflater else {
            throw BundleError(
                .codec, r == CINFLATE_MEM_ERROR ? "zlib: out of memory" : "zlib: cannot start the decoder (\(r))")
        }
        return OpaquePointer(inflater)
    }

    func release() {
        switch self {
        case .none: break
        case .zstd(let ctx): ZSTD_freeDCtx(ctx)
        case .xz(let s): lzma_end(s); s.deallocate()
        case .zlib(let s): cinflate_free(UnsafeMutableRawPointer(s))
        }
    }
}

/// The messages for a decoder's failure codes, one sentence each, shared by the streaming
/// `Decompressor` and the whole-frame `FrameDecompressor`.
enum DecoderErrors {
    /// A failing `lzma_code` result.
    static func xz(_ r: lzma_ret) -> BundleError {
        switch r {
        case LZMA_MEMLIMIT_ERROR:
            return BundleError(
                .tooLarge, "xz: stream requires too much memory (more than \(Limits.xzMemoryLimit >> 20) MiB to decode)"
            )
        case LZMA_MEM_ERROR: return BundleError(.codec, "xz: out of memory")
        case LZMA_FORMAT_ERROR: return BundleError(.codec, "xz: not an xz stream")
        case LZMA_OPTIONS_ERROR: return BundleError(.codec, "xz: unsupported options")
        case LZMA_DATA_ERROR: return BundleError(.codec, "xz: corrupt data")
        default: return BundleError(.codec, "xz: decoding failed (\(r.rawValue))")
        }
    }

    /// A zstd error code; `windowLogMax` is the streaming decoder's window limit, which a frame
    /// asking for more is refused by.
    static func zstd(_ r: Int, windowLogMax: Int32) -> BundleError {
        switch ZSTD_getErrorCode(r) {
        case ZSTD_error_frameParameter_windowTooLarge:
            let limit = windowLogMax >= 20 ? "\(1 << (windowLogMax - 20)) MiB" : "\(1 << (windowLogMax - 10)) KiB"
            return BundleError(.tooLarge, "zstd: frame requires too much memory (window larger than \(limit))")
        case ZSTD_error_memory_allocation: return BundleError(.codec, "zstd: out of memory")
        case ZSTD_error_checksum_wrong: return BundleError(.codec, "zstd: corrupt data (checksum mismatch)")
        case ZSTD_error_prefix_unknown: return BundleError(.codec, "zstd: not a zstd frame")
        case ZSTD_error_dstSize_tooSmall: return BundleError(.codec, "zstd: frame decodes to more bytes than declared")
        default: return BundleError(.codec, "zstd: corrupt data (\(String(cString: ZSTD_getErrorName(r))))")
        }
    }
}

// The encoders are for the packaging tool only: scripts/build-stub.sh compiles this module with
// -DLAUNCHER_DECODE_ONLY, so the launcher links no compressor (the class metadata of a public
// class is kept by the linker, and with it the whole zstd, xz and zlib encoders: about 600 KB).
#if !LAUNCHER_DECODE_ONLY
    /// Streaming encoder for the packaging tool.
    ///
    /// Whatever level a spec asks for, the output stays decodable by the launcher's `Decompressor`:
    /// the zstd window is clamped to 2^`Limits.zstdMaxWindowLog` and the xz dictionary to
    /// `Limits.xzMaxDictionary`. Integrity checks are always on (zstd content checksum,
    /// xz CRC64, zlib Adler-32), so corruption is caught even when the layer digest is not checked yet.
    public final class Compressor {
        private enum State {
            case none
            case zstd(OpaquePointer)
            case xz(UnsafeMutablePointer<lzma_stream>)
            case zlib(UnsafeMutablePointer<z_stream>)
        }
        private let state: State
        private let codec: Codec
        /// Scratch output buffer, allocated once: compressed bytes go here, then to the caller's array.
        private let buffer: UnsafeMutableRawBufferPointer
        private var finished = false

        private static let bufferSize = 256 << 10

        /// Creates an encoder. `level` must be in `codec.levelRange` (it is ignored for `.none`).
        ///
        /// - zstd: `ZSTD_c_compressionLevel = level`, `ZSTD_c_checksumFlag = 1`; levels 20-22
        ///   (the "ultra" levels, whose windows are 32-128 MiB) get `ZSTD_c_windowLog =
        ///   Limits.zstdMaxWindowLog` (16 MiB), the largest window the launcher decodes: on a
        ///   100 MB executable that is 1 % smaller than level 19's 8 MiB, for 8 MiB more decoder memory.
        /// - xz: one LZMA2 filter from `lzma_lzma_preset(level)`, dictionary clamped to
        ///   `Limits.xzMaxDictionary` (presets 7-9 ask for 16-64 MiB, over the decoder memlimit),
        ///   CRC64 check, via `lzma_stream_encoder` (.xz container).
        /// - zlib: deflate in the zlib format (windowBits 15), default strategy.
        /// `frameSize`, when given, is the exact length of the whole input (one frame): zstd records
        /// it in the frame header, and the xz dictionary is cut down to it (at least 4 KiB).
        public init(codec: Codec, level: Int, frameSize: Int? = nil) throws(BundleError) {
            if let range = codec.levelRange, !range.contains(level) {
                throw BundleError(
                    .usage, "\(codec.name): level \(level) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            self.codec = codec
            switch codec {
            case .none:
                state = .none
            case .zstd:
                guard let ctx = ZSTD_createCCtx() else { throw BundleError(.codec, "zstd: out of memory") }
                var ok = ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, Int32(level))) == 0
                ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1)) == 0
                if level >= 20 {
                    ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, Limits.zstdMaxWindowLog)) == 0
                }
                if let frameSize {
                    ok = ok && ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(ctx, UInt64(frameSize))) == 0
                }
                guard ok else {
                    ZSTD_freeCCtx(ctx); throw BundleError(.codec, "zstd: cannot set the encoder parameters")
                }
                state = .zstd(ctx)
            case .xz:
                var options = lzma_options_lzma()
                guard lzma_lzma_preset(&options, UInt32(level)) == 0 else {
                    throw BundleError(.codec, "xz: unsupported level \(level)")
                }
                options.dict_size = min(options.dict_size, Limits.xzMaxDictionary)
                if let frameSize { options.dict_size = min(options.dict_size, UInt32(max(frameSize, 4096))) }
                let strm = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
                clzma_stream_init(strm)
                // lzma_stream_encoder copies the filter options, so `options` need only outlive the call.
                let r = withUnsafeMutablePointer(to: &options) { opt -> lzma_ret in
                    var filters = [
                        lzma_filter(id: CLZMA_FILTER_LZMA2, options: UnsafeMutableRawPointer(opt)),
                        lzma_filter(id: CLZMA_VLI_UNKNOWN, options: nil),
                    ]
                    return filters.withUnsafeMutableBufferPointer {
                        lzma_stream_encoder(strm, $0.baseAddress, LZMA_CHECK_CRC64)
                    }
                }
                guard r == LZMA_OK else {
                    lzma_end(strm); strm.deallocate()
                    throw BundleError(
                        .codec,
                        r == LZMA_MEM_ERROR ? "xz: out of memory" : "xz: cannot start the encoder (\(r.rawValue))")
                }
                state = .xz(strm)
            case .zlib:
                let strm = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
                strm.initialize(to: z_stream())
                let r = czlib_deflate_init2(strm, Int32(level), 15, 8, Z_DEFAULT_STRATEGY)
                guard r == Z_OK else {
                    strm.deallocate()
                    throw BundleError(
                        .codec, r == Z_MEM_ERROR ? "zlib: out of memory" : "zlib: cannot start the encoder (\(r))")
                }
                state = .zlib(strm)
            }
            buffer =
                codec == .none
                ? UnsafeMutableRawBufferPointer(start: nil, count: 0)
                : .allocate(byteCount: Compressor.bufferSize, alignment: 16)
        }

        deinit {
            switch state {
            case .none: break
            case .zstd(let ctx): ZSTD_freeCCtx(ctx)
            case .xz(let s): lzma_end(s); s.deallocate()
            case .zlib(let s): deflateEnd(s); s.deallocate()
            }
            buffer.deallocate()
        }

        /// Appends compressed output for `input` to `output`. The encoder may keep some of it
        /// internally until later calls or `finish`. Fails after `finish`.
        public func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(BundleError) {
            guard !finished else { throw BundleError(.usage, "\(codec.name): stream already finished") }
            try run(input, finish: false, into: &output)
        }

        /// Flushes and ends the stream, appending the rest to `output`. Call it exactly once.
        public func finish(into output: inout [UInt8]) throws(BundleError) {
            guard !finished else { throw BundleError(.usage, "\(codec.name): stream already finished") }
            finished = true
            try run(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, into: &output)
        }

        private func run(_ input: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8]) throws(BundleError)
        {
            switch state {
            case .none:
                output.append(contentsOf: input)

            case .zstd(let ctx):
                var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
                while true {
                    var outb = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                    let r = ZSTD_compressStream2(ctx, &outb, &inb, finish ? ZSTD_e_end : ZSTD_e_continue)
                    guard ZSTD_isError(r) == 0 else {
                        throw BundleError(.codec, "zstd: compression failed (\(String(cString: ZSTD_getErrorName(r))))")
                    }
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<outb.pos]))
                    // e_continue: done once all input is taken; e_end: done once r == 0 (fully flushed).
                    if finish ? r == 0 : inb.pos == inb.size { break }
                }

            case .xz(let s):
                s.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
                s.pointee.avail_in = input.count
                defer { s.pointee.next_in = nil; s.pointee.next_out = nil }
                while true {
                    s.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    s.pointee.avail_out = buffer.count
                    let r = lzma_code(s, finish ? LZMA_FINISH : LZMA_RUN)
                    output.append(
                        contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<(buffer.count - s.pointee.avail_out)]))
                    if r == LZMA_STREAM_END { break }
                    guard r == LZMA_OK else {
                        throw BundleError(
                            .codec, r == LZMA_MEM_ERROR ? "xz: out of memory" : "xz: compression failed (\(r.rawValue))"
                        )
                    }
                    if !finish && s.pointee.avail_in == 0 { break }
                }

            case .zlib(let s):
                var offset = 0
                defer { s.pointee.next_in = nil; s.pointee.next_out = nil }
                repeat {
                    let n = min(input.count - offset, zlibMaxChunk)
                    s.pointee.next_in = UnsafeMutablePointer(
                        mutating: input.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + offset })
                    s.pointee.avail_in = uInt(n)
                    // Only the last piece may carry Z_FINISH.
                    let flush = finish && offset + n == input.count ? Z_FINISH : Z_NO_FLUSH
                    while true {
                        s.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
                        s.pointee.avail_out = uInt(buffer.count)
                        let r = deflate(s, flush)
                        output.append(
                            contentsOf: UnsafeRawBufferPointer(
                                rebasing: buffer[0..<(buffer.count - Int(s.pointee.avail_out))]))
                        if r == Z_STREAM_END { break }
                        guard r == Z_OK || r == Z_BUF_ERROR else {
                            throw BundleError(.codec, "zlib: compression failed (\(r))")
                        }
                        // Without Z_FINISH, done when all input is taken and deflate had room to spare.
                        if flush != Z_FINISH && s.pointee.avail_in == 0 && s.pointee.avail_out != 0 { break }
                    }
                    offset += n
                } while offset < input.count
            }
        }
    }

#endif

/// One-shot helpers (used by tests and the builder for small inputs). Both go through the
/// streaming `Compressor` and `Decompressor`, so they apply the same clamps and limits.
public enum Codecs {
    /// Compresses `bytes` into one complete stream. For `.none` the bytes are returned as they are.
    /// With a `filter`, it is applied before compressing (as `LayerEncoder` does for a layer).
    #if !LAUNCHER_DECODE_ONLY
        public static func compress(_ bytes: [UInt8], codec: Codec, level: Int, filter: LayerFilter = .none)
            throws(BundleError) -> [UInt8]
        {
            let c = try LayerEncoder(codec: codec, level: level, filter: filter, totalSize: UInt64(bytes.count))
            var out: [UInt8] = []
            try withBytes(bytes) { (b) throws(BundleError) in try c.encode(b, into: &out) }
            try c.finish(into: &out)
            return out
        }
    #endif

    /// Decodes a whole stream; fails if output would exceed `maxOutput` bytes, or if input has
    /// trailing garbage after the end of the stream, or if the stream is truncated.
    ///
    /// Never produces more than `maxOutput + 1` bytes before failing, so a small hostile input
    /// cannot make it allocate much. For `.none` only the size limit is checked.
    /// With a `filter`, it is undone after decoding.
    public static func decompress(_ bytes: [UInt8], codec: Codec, maxOutput: Int, filter: LayerFilter = .none)
        throws(BundleError) -> [UInt8]
    {
        var out = try decode(bytes, codec: codec, maxOutput: maxOutput)
        switch filter {
        case .none: break
        case .x86:
            var f = X86BranchFilter(encoding: false, totalSize: UInt64(out.count))
            out.withUnsafeMutableBytes { _ = f.process($0, atEnd: true) }
        case .arm64:
            var f = Arm64BranchFilter(encoding: false, totalSize: UInt64(out.count))
            out.withUnsafeMutableBytes { _ = f.process($0, atEnd: true) }
        }
        return out
    }

    private static func decode(_ bytes: [UInt8], codec: Codec, maxOutput: Int) throws(BundleError) -> [UInt8] {
        if codec == .none {
            guard bytes.count <= maxOutput else {
                throw BundleError(.tooLarge, "none: output larger than \(maxOutput) bytes")
            }
            return bytes
        }
        let d = try Decompressor(codec: codec)
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        var pos = 0
        var finished = false
        try withBytes(bytes) { (all) throws(BundleError) in
            while !finished {
                // One byte more than allowed is enough to know the limit is exceeded.
                let left = maxOutput - out.count
                let room = left >= buffer.count ? buffer.count : max(0, left) + 1
                let step = try d.decode(
                    UnsafeRawBufferPointer(rebasing: all[pos...]),
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<room]))
                pos += step.consumed
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<step.produced]))
                guard out.count <= maxOutput else {
                    throw BundleError(.tooLarge, "\(codec.name): output larger than \(maxOutput) bytes")
                }
                finished = step.finished
                if !finished && step.consumed == 0 && step.produced == 0 {
                    throw BundleError(.truncated, "\(codec.name): truncated stream")
                }
            }
        }
        guard pos == bytes.count else {
            throw BundleError(.codec, "\(codec.name): unexpected bytes after the end of the stream")
        }
        return out
    }
}
