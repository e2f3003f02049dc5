// The ARM64 branch filter: a reversible transform of a layer's stream, applied before
// compression and undone after decoding (docs/format.md, "Filters", filter 2).
//
// ARM64 `BL` (call) and `ADRP` (address of a 4 KiB page) store their target relative to the
// instruction's own address, so a hundred calls to one function carry a hundred different
// immediates. Rewritten as absolute targets (relative to the stream's start), they carry the same
// bits, which zstd and xz then find as repeats.
//
// The definition is xz/liblzma's ARM64 BCJ filter (xz 5.4 and later, `src/liblzma/simple/arm64.c`),
// applied at the layer's stream positions:
//
// - Only whole little-endian 32-bit words at stream positions that are multiples of 4 are looked
//   at; pc is the word's stream position modulo 2^32. Other bytes (before the first aligned
//   position of a buffer, a word cut by the end of a frame or of the stream) are left alone.
// - BL (`w >> 26 == 0x25`): the low 26 bits become `(w + (pc >> 2)) mod 2^26` (the encoder) or
//   `(w - (pc >> 2)) mod 2^26` (the decoder); the top six bits stay.
// - ADRP (`w & 0x9F000000 == 0x90000000`): let imm be its 21-bit immediate,
//   `immlo | immhi << 2` with immlo = bits 29-30 and immhi = bits 5-23 of w. Only when bits 17-20
//   of imm are all equal (a target within ±512 MiB; liblzma checks `(imm + 0x20000) & 0x1C0000 == 0`)
//   is it changed: t = imm ± (pc >> 12) (+ encoding, - decoding) mod 2^32, and the new immediate
//   is t's low 18 bits with bit 17 copied into bits 18-20. Bits 0-4 (the register) and 31 stay.
// - Any other word is left alone.
//
// Both maps are bijections of their word class (BL words stay BL words; an ADRP word in range
// stays one in range, with the same register), so encoder and decoder see the same words and every
// 32-bit word, hence every stream, round-trips, whatever its bytes.
//
// No segments, unlike `X86BranchFilter`: the transform of a word depends on its position only
// through pc >> 2 mod 2^26 and pc >> 12 mod 2^18, that is on the position modulo 2^30, and needs
// no stream length, so all arithmetic is 32-bit whatever the layer's size. (Cutting the stream into
// 1 GiB segments would give exactly the same bytes.) For a frame at a position P that is a
// multiple of 4, the result is liblzma's ARM64 filter with `start_offset` P mod 2^32.
//
// No Foundation: the launcher runs the decoder.

/// Streaming ARM64 branch filter (one direction per instance).
///
/// Feed the stream in order with `process`; each call transforms in place the bytes it can
/// finish and says how many. A word cut by the end of a buffer is left for the next call, so a
/// caller keeps the returned remainder (at most 3 bytes) and presents it again, followed by more
/// bytes, or calls with `atEnd: true` at the end of the stream (or of a frame).
public struct Arm64BranchFilter: Sendable {
    private let encoding: Bool
    private let totalSize: UInt64
    /// Stream position of the next byte `process` will see.
    public private(set) var position: UInt64 = 0

    /// - Parameters:
    ///   - encoding: true to rewrite relative immediates as absolute ones (before compression),
    ///     false to undo it (after decoding).
    ///   - totalSize: the length of the whole stream; a word that does not lie wholly inside it is
    ///     left alone.
    public init(encoding: Bool, totalSize: UInt64) {
        self.encoding = encoding
        self.totalSize = totalSize
    }

    /// A filter for one frame of a layer (format version 3): positions are the layer's stream's
    /// (`totalSize` bytes), and the first byte `process` sees is at `position`, the frame's decoded
    /// offset. Only words at 4-aligned stream positions are transformed, and a word cut by the
    /// frame's end is left alone (`atEnd: true`), so each frame is filtered on its own.
    public init(encoding: Bool, totalSize: UInt64, position: UInt64) {
        self.init(encoding: encoding, totalSize: totalSize)
        self.position = position
    }

    /// Transforms `buffer`, whose first byte is at `position`, in place. Returns how many bytes
    /// from the start are final; `position` advances by that much. Fewer than `buffer.count`
    /// (by at most 3) only when a word is cut by the buffer's end and `atEnd` is false.
    public mutating func process(_ buffer: UnsafeMutableRawBufferPointer, atEnd: Bool) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let count = buffer.count
        // Bytes at or past the stream's declared end are left alone.
        let inStream = position >= totalSize ? 0 : Int(min(UInt64(count), totalSize - position))
        // The first 4-aligned stream position in the buffer.
        var i = min(Int((4 &- (position & 3)) & 3), count)
        var pc = UInt32(truncatingIfNeeded: position &+ UInt64(i))
        while i + 4 <= inStream {
            let word = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            let converted = Arm64BranchFilter.convert(word, pc: pc, encoding: encoding)
            if converted != word { base.storeBytes(of: converted.littleEndian, toByteOffset: i, as: UInt32.self) }
            i += 4
            pc &+= 4
        }
        // A word cut by the buffer's end (not by the stream's) waits for the next call.
        let done = !atEnd && inStream == count && i < count ? i : count
        position &+= UInt64(done)
        return done
    }

    /// One word at stream position `pc` (mod 2^32, a multiple of 4): the encoder's map, or its
    /// inverse when decoding.
    @inline(__always)
    static func convert(_ word: UInt32, pc: UInt32, encoding: Bool) -> UInt32 {
        if word >> 26 == 0x25 {
            // BL: the whole 26-bit word offset, modulo 2^26.
            let delta = encoding ? pc >> 2 : 0 &- (pc >> 2)
            return 0x9400_0000 | ((word &+ delta) & 0x03FF_FFFF)
        }
        if word & 0x9F00_0000 == 0x9000_0000 {
            // ADRP: immlo (bits 29-30) and immhi (bits 5-23) as one 21-bit page offset.
            let imm = (word >> 29) & 3 | (word >> 3) & 0x001F_FFFC
            // Within ±512 MiB only: bits 17-20 all zero or all one.
            guard (imm &+ 0x0002_0000) & 0x001C_0000 == 0 else { return word }
            let delta = encoding ? pc >> 12 : 0 &- (pc >> 12)
            let t = imm &+ delta
            return word & 0x9000_001F | (t & 3) << 29 | (t & 0x0003_FFFC) << 3 | (0 &- (t & 0x0002_0000)) & 0x00E0_0000
        }
        return word
    }
}
