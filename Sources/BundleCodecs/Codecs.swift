#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import CZstd
import CLZMA
import CZlib

/// A compression or decompression failure, as one short sentence ("zstd: corrupt data").
public struct CodecError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Streaming decoder for one layer stream. Memory stays bounded by the codec's limits
/// (`Limits.zstdMaxWindowLog`, `Limits.xzMemoryLimit`), whatever the stream claims.
public final class Decompressor {
    private enum State {
        case none
        case zstd(OpaquePointer)
        case xz(UnsafeMutablePointer<lzma_stream>)
        case zlib(UnsafeMutablePointer<z_stream>)
    }
    private let state: State

    public init(codec: Codec) throws(CodecError) {
        switch codec {
        case .none:
            state = .none
        case .zstd:
            guard let ctx = ZSTD_createDCtx() else { throw CodecError("zstd: out of memory") }
            let r = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, Limits.zstdMaxWindowLog)
            guard ZSTD_isError(r) == 0 else { ZSTD_freeDCtx(ctx); throw CodecError("zstd: cannot set window limit") }
            state = .zstd(ctx)
        case .xz:
            let strm = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
            clzma_stream_init(strm)
            let r = lzma_stream_decoder(strm, Limits.xzMemoryLimit, 0)
            guard r == LZMA_OK else { strm.deallocate(); throw CodecError("xz: cannot start decoder (\(r.rawValue))") }
            state = .xz(strm)
        case .zlib:
            let strm = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            strm.initialize(to: z_stream())
            guard czlib_inflate_init2(strm, 15) == Z_OK else { strm.deallocate(); throw CodecError("zlib: cannot start decoder") }
            state = .zlib(strm)
        }
    }

    deinit {
        switch state {
        case .none: break
        case .zstd(let ctx): ZSTD_freeDCtx(ctx)
        case .xz(let s): lzma_end(s); s.deallocate()
        case .zlib(let s): inflateEnd(s); s.deallocate()
        }
    }

    /// Decodes as much of `input` into `output` as fits. `finished` is true once the end of the
    /// compressed stream has been decoded. For `.none` bytes are copied and `finished` is never
    /// set: the caller knows the length. An empty input with nothing pending returns (0, 0, false),
    /// which the caller treats as truncation.
    public func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(CodecError) -> (consumed: Int, produced: Int, finished: Bool) {
        switch state {
        case .none:
            let n = min(input.count, output.count)
            if n > 0 { output.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: n) }
            return (n, n, false)
        case .zstd(let ctx):
            var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var outb = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let r = ZSTD_decompressStream(ctx, &outb, &inb)
            if ZSTD_isError(r) != 0 {
                let code = ZSTD_getErrorCode(r)
                if code == ZSTD_error_frameParameter_windowTooLarge {
                    throw CodecError("zstd: frame requires too much memory (window larger than \(1 << (Limits.zstdMaxWindowLog - 20)) MiB)")
                }
                throw CodecError("zstd: corrupt data (\(String(cString: ZSTD_getErrorName(r))))")
            }
            return (inb.pos, outb.pos, r == 0)
        case .xz(let s):
            s.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_in = input.count
            s.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_out = output.count
            let r = lzma_code(s, input.isEmpty ? LZMA_FINISH : LZMA_RUN)
            let consumed = input.count - s.pointee.avail_in
            let produced = output.count - s.pointee.avail_out
            switch r {
            case LZMA_OK: return (consumed, produced, false)
            case LZMA_STREAM_END: return (consumed, produced, true)
            case LZMA_BUF_ERROR: return (consumed, produced, false)
            case LZMA_MEMLIMIT_ERROR: throw CodecError("xz: stream requires more than \(Limits.xzMemoryLimit >> 20) MiB of memory to decode")
            case LZMA_FORMAT_ERROR: throw CodecError("xz: not an xz stream")
            case LZMA_OPTIONS_ERROR: throw CodecError("xz: unsupported options")
            case LZMA_DATA_ERROR: throw CodecError("xz: corrupt data")
            default: throw CodecError("xz: decoding failed (\(r.rawValue))")
            }
        case .zlib(let s):
            s.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            s.pointee.avail_in = uInt(input.count)
            s.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
            s.pointee.avail_out = uInt(output.count)
            let r = inflate(s, Z_NO_FLUSH)
            let consumed = input.count - Int(s.pointee.avail_in)
            let produced = output.count - Int(s.pointee.avail_out)
            switch r {
            case Z_OK, Z_BUF_ERROR: return (consumed, produced, false)
            case Z_STREAM_END: return (consumed, produced, true)
            case Z_MEM_ERROR: throw CodecError("zlib: out of memory")
            default: throw CodecError("zlib: corrupt data")
            }
        }
    }
}

/// Streaming encoder for the packaging tool. Window and dictionary sizes are clamped so
/// that whatever level a spec asks for, the launcher can decode within its limits.
public final class Compressor {
    private enum State {
        case none
        case zstd(OpaquePointer)
        case xz(UnsafeMutablePointer<lzma_stream>)
        case zlib(UnsafeMutablePointer<z_stream>)
    }
    private let state: State
    private let chunk = 1 << 18

    public init(codec: Codec, level: Int) throws(CodecError) {
        if let range = codec.levelRange, !range.contains(level) {
            throw CodecError("\(codec.name): level \(level) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        switch codec {
        case .none:
            state = .none
        case .zstd:
            guard let ctx = ZSTD_createCCtx() else { throw CodecError("zstd: out of memory") }
            var ok = ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, Int32(level))) == 0
            ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 1)) == 0
            // Levels 20-22 would pick windows up to 128 MiB; the launcher decodes at most 16 MiB.
            if level >= 18 {
                ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, Limits.zstdEncoderWindowLog)) == 0
            }
            guard ok else { ZSTD_freeCCtx(ctx); throw CodecError("zstd: cannot set parameters") }
            state = .zstd(ctx)
        case .xz:
            var options = lzma_options_lzma()
            guard lzma_lzma_preset(&options, UInt32(level)) == 0 else { throw CodecError("xz: unsupported level \(level)") }
            options.dict_size = min(options.dict_size, Limits.xzMaxDictionary)
            let strm = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
            clzma_stream_init(strm)
            let r = withUnsafeMutablePointer(to: &options) { opt -> lzma_ret in
                var filters = [
                    lzma_filter(id: CLZMA_FILTER_LZMA2, options: UnsafeMutableRawPointer(opt)),
                    lzma_filter(id: CLZMA_VLI_UNKNOWN, options: nil),
                ]
                return lzma_stream_encoder(strm, &filters, LZMA_CHECK_CRC64)
            }
            guard r == LZMA_OK else { strm.deallocate(); throw CodecError("xz: cannot start encoder (\(r.rawValue))") }
            state = .xz(strm)
        case .zlib:
            let strm = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            strm.initialize(to: z_stream())
            guard czlib_deflate_init2(strm, Int32(level), 15, 9, Z_DEFAULT_STRATEGY) == Z_OK else {
                strm.deallocate(); throw CodecError("zlib: cannot start encoder")
            }
            state = .zlib(strm)
        }
    }

    deinit {
        switch state {
        case .none: break
        case .zstd(let ctx): ZSTD_freeCCtx(ctx)
        case .xz(let s): lzma_end(s); s.deallocate()
        case .zlib(let s): deflateEnd(s); s.deallocate()
        }
    }

    /// Appends compressed output for `input` to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(CodecError) {
        try run(input, finish: false, into: &output)
    }

    /// Ends the stream, appending what is left to `output`.
    public func finish(into output: inout [UInt8]) throws(CodecError) {
        try run(UnsafeRawBufferPointer(start: nil, count: 0), finish: true, into: &output)
    }

    private func run(_ input: UnsafeRawBufferPointer, finish: Bool, into output: inout [UInt8]) throws(CodecError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        switch state {
        case .none:
            output.append(contentsOf: input)
        case .zstd(let ctx):
            var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            while true {
                var outb = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
                let r = ZSTD_compressStream2(ctx, &outb, &inb, finish ? ZSTD_e_end : ZSTD_e_continue)
                guard ZSTD_isError(r) == 0 else { throw CodecError("zstd: \(String(cString: ZSTD_getErrorName(r)))") }
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<outb.pos]))
                if finish ? r == 0 : inb.pos == inb.size { break }
            }
        case .xz(let s):
            s.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
            s.pointee.avail_in = input.count
            while true {
                s.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
                s.pointee.avail_out = buffer.count
                let r = lzma_code(s, finish ? LZMA_FINISH : LZMA_RUN)
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<(buffer.count - s.pointee.avail_out)]))
                if r == LZMA_STREAM_END { break }
                guard r == LZMA_OK else { throw CodecError("xz: encoding failed (\(r.rawValue))") }
                if !finish && s.pointee.avail_in == 0 { break }
            }
        case .zlib(let s):
            s.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            s.pointee.avail_in = uInt(input.count)
            while true {
                s.pointee.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
                s.pointee.avail_out = uInt(buffer.count)
                let r = deflate(s, finish ? Z_FINISH : Z_NO_FLUSH)
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<(buffer.count - Int(s.pointee.avail_out))]))
                if r == Z_STREAM_END { break }
                guard r == Z_OK || r == Z_BUF_ERROR else { throw CodecError("zlib: encoding failed (\(r))") }
                if !finish && s.pointee.avail_in == 0 && s.pointee.avail_out != 0 { break }
            }
        }
    }
}

/// One-shot helpers for tests and small inputs.
public enum Codecs {
    public static func compress(_ bytes: [UInt8], codec: Codec, level: Int) throws(CodecError) -> [UInt8] {
        let c = try Compressor(codec: codec, level: level)
        var out: [UInt8] = []
        try withBytes(bytes) { (b) throws(CodecError) in try c.compress(b, into: &out) }
        try c.finish(into: &out)
        return out
    }

    /// Decodes a whole stream; fails on more than `maxOutput` bytes, truncation, or trailing bytes.
    public static func decompress(_ bytes: [UInt8], codec: Codec, maxOutput: Int) throws(CodecError) -> [UInt8] {
        if codec == .none {
            guard bytes.count <= maxOutput else { throw CodecError("none: more than \(maxOutput) bytes") }
            return bytes
        }
        let d = try Decompressor(codec: codec)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var pos = 0
        var finished = false
        while !finished {
            let p = pos
            let step = try withBytes(bytes) { (inb) throws(CodecError) in
                try withMutableBytes(&buffer) { (outb) throws(CodecError) in
                    try d.decode(UnsafeRawBufferPointer(rebasing: inb[p...]), into: outb)
                }
            }
            pos += step.consumed
            out.append(contentsOf: buffer[0..<step.produced])
            guard out.count <= maxOutput else { throw CodecError("\(codec.name): output larger than \(maxOutput) bytes") }
            finished = step.finished
            if !finished && step.consumed == 0 && step.produced == 0 { throw CodecError("\(codec.name): truncated stream") }
        }
        guard pos == bytes.count else { throw CodecError("\(codec.name): unexpected bytes after the end of the stream") }
        return out
    }
}
