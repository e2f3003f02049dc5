// How a layer's file table is stored in a bundle (docs/format.md, "File table"): the encoded
// records (`FileTable.encode`) compressed as exactly one zstd frame, with a window of at most
// 2^`Limits.fileTableWindowLog` bytes and nothing after the frame. The table's digest (the
// layer digest, the cache name) is over the DECODED bytes, so it does not depend on the codec.

import BundleFormat
import CZstd

/// The fixed input buffer of a `StoredTableDecoder`: a class so that it is freed when the last
/// copy of the (copyable) decoder goes away.
final class TableInputBuffer {
    let bytes: UnsafeMutableRawBufferPointer
    init(capacity: Int) { bytes = .allocate(byteCount: capacity, alignment: 16) }
    deinit { bytes.deallocate() }
}

/// The decoded bytes of a stored file table, read a buffer at a time from `Stored` (the stored
/// bytes): one zstd frame, decoded as it is read. Memory is one 64 KiB input buffer plus the
/// decoder's state and window (at most 2^`Limits.fileTableWindowLog` bytes), whatever the table's
/// length. Fails (a `BundleError`, never a crash) when the stored bytes do not start with the zstd
/// frame magic (so no skippable frame), when the frame is corrupt, truncated or asks for a larger
/// window, when it decodes to more than `Limits.maxFileTableLength` bytes, or when anything follows
/// the frame.
public struct StoredTableDecoder<Stored: ByteSource>: ByteSource {
    /// The stored bytes (e.g. so that a caller can read what is left).
    public var stored: Stored
    private let decoder: Decompressor
    private let input = TableInputBuffer(capacity: 64 << 10)
    private var start = 0
    private var end = 0
    private var storedDone = false
    private var checkedMagic = false
    private var frameDone = false
    /// Decoded bytes handed out so far.
    public private(set) var decodedCount: UInt64 = 0

    /// zstd's frame magic number, little-endian.
    public static var frameMagic: [UInt8] { [0x28, 0xB5, 0x2F, 0xFD] }

    public init(stored: Stored) throws(BundleError) {
        self.stored = stored
        decoder = try Decompressor(codec: .zstd, zstdWindowLogMax: Limits.fileTableWindowLog)
    }

    /// Reads more stored bytes after those not consumed yet; false at the end of the stored bytes.
    private mutating func refill() throws(BundleError) -> Bool {
        if storedDone { return false }
        let base = input.bytes.baseAddress!
        if start > 0 {
            if end > start { base.copyMemory(from: base + start, byteCount: end - start) }
            end -= start
            start = 0
        }
        guard end < input.bytes.count else { return true }
        let n = try stored.read(into: UnsafeMutableRawBufferPointer(rebasing: input.bytes[end...]))
        if n == 0 { storedDone = true; return false }
        end += n
        return true
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        if frameDone || buffer.count == 0 { return 0 }
        if !checkedMagic {
            while end - start < 4 { guard try refill() else { break } }
            guard end - start >= 4,
                Array(UnsafeRawBufferPointer(rebasing: input.bytes[start..<(start + 4)])) == Self.frameMagic
            else {
                throw BundleError(.codec, "stored file table is not a zstd frame")
            }
            checkedMagic = true
        }
        // One byte more than the limit is enough to know it is exceeded.
        let left = Limits.maxFileTableLength - decodedCount
        let room = UInt64(buffer.count) <= left ? buffer.count : Int(left) + 1
        let output = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<room])
        while true {
            let step = try decoder.decode(UnsafeRawBufferPointer(rebasing: input.bytes[start..<end]), into: output)
            start += step.consumed
            decodedCount += UInt64(step.produced)
            guard decodedCount <= Limits.maxFileTableLength else {
                throw BundleError(.tooLarge, "file table decodes to more than \(Limits.maxFileTableLength) bytes")
            }
            if step.finished {
                frameDone = true
                guard start == end, try !refill() else {
                    throw BundleError(.codec, "stored file table has bytes after its zstd frame")
                }
                return step.produced
            }
            if step.produced > 0 { return step.produced }
            if step.consumed > 0 { continue }
            // Nothing consumed and nothing produced although there was room: it needs more input.
            let before = end - start
            guard try refill() else {
                throw BundleError(.truncated, "stored file table is truncated (its zstd frame does not end)")
            }
            guard end - start > before else {
                throw BundleError(.codec, "zstd: decoder made no progress (corrupt data)")
            }
        }
    }
}

public enum FileTableCodec {
    /// Decodes a whole stored table in memory (tools and tests; the launcher streams with
    /// `StoredTableDecoder`). Same checks and limits as the streaming decoder.
    public static func decode(_ stored: [UInt8]) throws(BundleError) -> [UInt8] {
        var source = try StoredTableDecoder(stored: ArraySource(stored))
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { return out }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    #if !LAUNCHER_DECODE_ONLY
        /// zstd level of stored tables. On a 20,000-file table (1.8 MB, of which 640 KB are random
        /// digests; 128 KiB window) level 9 writes 747 KB in 0.04 s, level 19 about 2 % less in 0.5 s;
        /// the largest table the format allows (256 MiB) takes about 10 s at level 9, minutes at 19.
        public static let level: Int32 = 9

        /// Compresses encoded records (`FileTable.encode`) into the stored form: one zstd frame with the
        /// content size recorded, a window of at most 2^`Limits.fileTableWindowLog` bytes, no checksum
        /// (the table digest covers every decoded byte).
        public static func encode(_ table: [UInt8]) throws(BundleError) -> [UInt8] {
            guard let ctx = ZSTD_createCCtx() else { throw BundleError(.codec, "zstd: out of memory") }
            defer { ZSTD_freeCCtx(ctx) }
            var ok = ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)) == 0
            ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, Limits.fileTableWindowLog)) == 0
            ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1)) == 0
            ok = ok && ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 0)) == 0
            guard ok else { throw BundleError(.codec, "zstd: cannot set the file table encoder parameters") }
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(table.count))
            let r = out.withUnsafeMutableBytes { o in
                table.withUnsafeBytes { i in ZSTD_compress2(ctx, o.baseAddress, o.count, i.baseAddress, i.count) }
            }
            guard ZSTD_isError(r) == 0 else {
                throw BundleError(
                    .codec, "zstd: file table compression failed (\(String(cString: ZSTD_getErrorName(r))))")
            }
            out.removeSubrange(r...)
            return out
        }
    #endif
}
