// The x86 branch filter: a reversible transform of a layer's stream, applied before
// compression and undone after decoding (docs/format.md, "Filters").
//
// x86 `call rel32` (E8) and `jmp rel32` (E9) store their target relative to the next
// instruction, so a hundred calls to one function carry a hundred different operands.
// Rewritten as positions in the stream, they carry the same four bytes, which zstd and xz
// then find as repeats: on the Bun runtime (82 MB of x86-64 code) this saves 5-6 % of the
// compressed size, for a decode-side cost of one pass over the bytes.
//
// The idea is the classic BCJ/"E8E9" transform (LZX, xz); the exact definition here is ours:
//
// - The stream is cut into segments of `segmentSize` bytes (the last may be shorter); every
//   position below is relative to its segment's start, and L is the segment's length. So all
//   arithmetic fits in 32 bits whatever the layer's size.
// - Scanning from the segment's start: at position i holding E8 or E9 with i + 5 <= L, let x be
//   the little-endian Int32 at i + 1 and c = i + 5. If -c <= x < L, x is replaced by
//   `x + c` when x < L - c, else by `x - L` (the encoder); the decoder maps y back with
//   `y - c` when y >= 0, else `y + L`. Both maps are bijections of [-c, L), and values outside
//   it are left alone, so every 4-byte operand round-trips. Scanning then continues at i + 5;
//   otherwise at i + 1.
// - The opcode bytes themselves are never changed and only skipped operands are, so encoder and
//   decoder scan exactly the same positions.
//
// No Foundation: the launcher runs the decoder.

/// Streaming x86 branch filter (one direction per instance).
///
/// Feed the stream in order with `process`; each call transforms in place the bytes it can
/// finish and says how many. An E8/E9 whose operand is cut by the end of a buffer is left for
/// the next call, so a caller keeps the returned remainder (at most 4 bytes) and presents it
/// again, followed by more bytes, or calls with `atEnd: true` at the end of the stream.
public struct X86BranchFilter: Sendable {
    /// Segment length: 1 GiB, so segment-relative positions and operands stay within Int32.
    public static let segmentSize: UInt64 = 1 << 30

    private let encoding: Bool
    private let totalSize: UInt64
    private let segmentSize: UInt64
    /// Stream position of the next byte `process` will see.
    public private(set) var position: UInt64 = 0

    /// - Parameters:
    ///   - encoding: true to rewrite relative operands as positions (before compression),
    ///     false to undo it (after decoding).
    ///   - totalSize: the length of the whole stream, which fixes the last segment's length.
    public init(encoding: Bool, totalSize: UInt64) {
        self.init(encoding: encoding, totalSize: totalSize, segmentSize: X86BranchFilter.segmentSize)
    }

    /// A filter for one frame of a layer (format version 3): positions and segments are the
    /// layer's stream's (`totalSize`), and the first byte `process` sees is at `position`, the
    /// frame's decoded offset. Scanning starts afresh at the frame's first byte and an operand cut
    /// by the frame's end is left alone (`atEnd: true`), so each frame is filtered on its own; the
    /// stream positions keep a call's operand the same in every frame that calls one function
    /// (frame-relative positions made the filter gain 1 % instead of 5-6 % on Bun's 8 MiB frames).
    public init(encoding: Bool, totalSize: UInt64, position: UInt64) {
        self.init(encoding: encoding, totalSize: totalSize, segmentSize: X86BranchFilter.segmentSize)
        self.position = position
    }

    /// Tests use small segments (a power of two) to cross segment boundaries cheaply; the format
    /// fixes `X86BranchFilter.segmentSize`.
    init(encoding: Bool, totalSize: UInt64, segmentSize: UInt64) {
        precondition(
            segmentSize >= 8 && segmentSize <= X86BranchFilter.segmentSize && segmentSize & (segmentSize - 1) == 0)
        self.encoding = encoding
        self.totalSize = totalSize
        self.segmentSize = segmentSize
    }

    /// Transforms `buffer`, whose first byte is at `position`, in place. Returns how many bytes
    /// from the start are final; `position` advances by that much. Fewer than `buffer.count`
    /// (by at most 4) only when an operand is cut off and `atEnd` is false.
    public mutating func process(_ buffer: UnsafeMutableRawBufferPointer, atEnd: Bool) -> Int {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let count = buffer.count
        var i = 0
        while i < count {
            let streamPos = position &+ UInt64(i)
            let segmentStart = streamPos & ~(segmentSize - 1)
            // Bytes past the declared end belong to no segment and are left alone.
            let segmentLength = totalSize > segmentStart ? min(segmentSize, totalSize - segmentStart) : 0
            // Scan to the next E8/E9, within this buffer and this segment.
            let scanEnd = i + Int(min(UInt64(count - i), segmentSize - (streamPos - segmentStart)))
            while i < scanEnd && (base[i] & 0xFE) != 0xE8 { i += 1 }
            if i == scanEnd { continue }  // next segment, or done
            let here = position &+ UInt64(i) - segmentStart  // the opcode's segment position
            guard here + 5 <= segmentLength else { i += 1; continue }  // operand would cross the segment end
            guard i + 5 <= count else {  // operand cut by the buffer's end
                if atEnd { i += 1; continue }
                break
            }
            let c = Int64(here + 5)
            let l = Int64(segmentLength)
            let p = base + i + 1
            let x = Int64(Int32(bitPattern: UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24))
            if x >= -c && x < l {
                let y: Int64
                if encoding { y = x < l - c ? x + c : x - l } else { y = x >= 0 ? x - c : x + l }
                let v = UInt32(bitPattern: Int32(truncatingIfNeeded: y))
                p[0] = UInt8(truncatingIfNeeded: v)
                p[1] = UInt8(truncatingIfNeeded: v >> 8)
                p[2] = UInt8(truncatingIfNeeded: v >> 16)
                p[3] = UInt8(truncatingIfNeeded: v >> 24)
            }
            i += 5
        }
        position &+= UInt64(i)
        return i
    }
}
