import Foundation
import XCTest
@testable import BundleCodecs
import BundleFormat
import TestSupport

/// The x86 branch filter (docs/format.md, "Filters"): exact vectors, a second implementation
/// written from the spec's text, every chunking and segment boundary, and the size it saves on
/// real machine code.
final class X86BranchFilterTests: XCTestCase {
    /// The spec, written as plainly as possible: whole buffer, segment by segment.
    func reference(_ data: [UInt8], encoding: Bool, segment: Int) -> [UInt8] {
        var b = data
        var start = 0
        while start < b.count {
            let length = min(segment, b.count - start)
            var i = 0
            while i < length {
                let op = b[start + i]
                guard op == 0xE8 || op == 0xE9, i + 5 <= length else { i += 1; continue }
                let p = start + i + 1
                let x = Int64(
                    Int32(
                        bitPattern: UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3])
                            << 24))
                let c = Int64(i + 5), l = Int64(length)
                if -c <= x && x < l {
                    let y = encoding ? (x < l - c ? x + c : x - l) : (x >= 0 ? x - c : x + l)
                    let v = UInt32(bitPattern: Int32(y))
                    for k in 0..<4 { b[p + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
                }
                i += 5
            }
            start += segment
        }
        return b
    }

    /// Runs the streaming filter the way LayerEncoder does: pieces of the given
    /// sizes (cycled), the unfinished remainder presented again in front of the next piece.
    func stream(
        _ data: [UInt8], encoding: Bool, segment: UInt64 = X86BranchFilter.segmentSize,
        pieces: [Int]
    ) -> [UInt8] {
        var f = X86BranchFilter(encoding: encoding, totalSize: UInt64(data.count), segmentSize: segment)
        var out: [UInt8] = []
        var pending: [UInt8] = []
        var pos = 0
        var k = 0
        while true {
            let n = min(pieces[k % pieces.count], data.count - pos)
            k += 1
            var buf = pending + data[pos..<(pos + n)]
            pos += n
            let atEnd = pos == data.count
            let done = buf.withUnsafeMutableBytes { f.process($0, atEnd: atEnd) }
            out += buf[0..<done]
            pending = Array(buf[done...])
            XCTAssertLessThanOrEqual(pending.count, 4, "at most one cut operand waits")
            if atEnd { XCTAssertTrue(pending.isEmpty); break }
        }
        XCTAssertEqual(f.position, UInt64(data.count))
        return out
    }

    /// Random bytes dense in E8/E9 with operands in and out of range, so every branch of the
    /// transform is taken many times.
    func branchy(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 8)
        while out.count < n {
            switch rng.next() % 4 {
            case 0:
                out.append(rng.next() % 2 == 0 ? 0xE8 : 0xE9)
                let x: Int32 =
                    rng.next() % 3 == 0
                    ? Int32(truncatingIfNeeded: rng.next()) : Int32(Int64(rng.next() % UInt64(2 * n)) - Int64(n))
                withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case 1: out += [0xE8, 0xE8, 0xE9]
            default: out.append(UInt8(truncatingIfNeeded: rng.next()))
            }
        }
        return Array(out.prefix(n))
    }

    func testKnownVectors() {
        // call +0 from position 0 of a 5-byte stream: c = 5, L = 5, x = 0 >= L - c, so x - L = -5.
        XCTAssertEqual(stream([0xE8, 0, 0, 0, 0], encoding: true, pieces: [5]), [0xE8, 0xFB, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(stream([0xE8, 0xFB, 0xFF, 0xFF, 0xFF], encoding: false, pieces: [5]), [0xE8, 0, 0, 0, 0])
        // jmp +3 at position 1 of 16 bytes: c = 6, x = 3 < L - c = 10, so x + c = 9.
        var b = [UInt8](repeating: 0x90, count: 16)
        b[1...5] = [0xE9, 3, 0, 0, 0]
        var e = b; e[2] = 9
        XCTAssertEqual(stream(b, encoding: true, pieces: [16]), e)
        XCTAssertEqual(stream(e, encoding: false, pieces: [16]), b)
        // Out of range (x >= L): left alone. An opcode in the last four bytes: left alone.
        b = [0xE8, 0x10, 0, 0, 0, 0x90, 0x90, 0xE8, 1, 2]
        XCTAssertEqual(stream(b, encoding: true, pieces: [3]), b)
        // Operand bytes are skipped, not scanned: the E8 at 0 (operand 0x1E8, out of range) hides
        // the E8 at 1, whose operand (1) would be in range and change.
        b = [0xE8, 0xE8, 1, 0, 0, 0] + [UInt8](repeating: 0x90, count: 10)
        XCTAssertEqual(stream(b, encoding: true, pieces: [16]), b)
        XCTAssertEqual(reference(b, encoding: true, segment: 16), b)
    }

    func testEveryBoundaryOperandRoundTrips() {
        let length = 64
        for at in [0, 1, 30, length - 5] {
            let c = Int64(at + 5), l = Int64(length)
            for x in [-c - 1, -c, -1, 0, 1, l - c - 1, l - c, l - 1, l, Int64(Int32.min), Int64(Int32.max)] {
                var b = [UInt8](repeating: 0, count: length)
                b[at] = 0xE8
                let v = UInt32(bitPattern: Int32(x))
                for k in 0..<4 { b[at + 1 + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
                let enc = stream(b, encoding: true, pieces: [length])
                XCTAssertEqual(enc, reference(b, encoding: true, segment: length), "x = \(x) at \(at)")
                XCTAssertEqual(stream(enc, encoding: false, pieces: [length]), b, "x = \(x) at \(at)")
                XCTAssertEqual(enc != b, -c <= x && x < l, "x = \(x) at \(at): changed exactly when in range")
            }
        }
    }

    func testStreamingMatchesTheSpecInAnyChunkingAndSegmentSize() {
        for (n, seed) in [(0, 1), (1, 2), (4, 3), (5, 4), (977, 5), (70_000, 6)] as [(Int, UInt64)] {
            let data = branchy(n, seed: seed)
            for segment in [8, 64, 4096, 1 << 30] {
                let expected = reference(data, encoding: true, segment: segment)
                for pieces in [[n + 1], [1], [2, 3, 7], [4096], [5, 1, 9, 100_000]] {
                    let enc = stream(data, encoding: true, segment: UInt64(segment), pieces: pieces)
                    XCTAssertTrue(enc == expected, "n \(n) segment \(segment) pieces \(pieces): differs from the spec")
                    XCTAssertTrue(
                        stream(enc, encoding: false, segment: UInt64(segment), pieces: pieces) == data,
                        "n \(n) segment \(segment) pieces \(pieces): does not round-trip")
                }
                if n > 1000 && segment >= 4096 {
                    XCTAssertTrue(expected != data, "a branchy stream has operands in range")
                }
            }
        }
    }

    /// The point of the filter: real x86-64 machine code compresses smaller, and the layer
    /// encoder and one-shot decoder undo it exactly.
    func testMachineCodeCompressesSmallerAndRoundTrips() throws {
        let exe = try Array(Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe")).prefix(16 << 20))
        let plain = try Codecs.compress(exe, codec: .zstd, level: 3)
        let filtered = try Codecs.compress(exe, codec: .zstd, level: 3, filter: .x86)
        XCTAssertLessThan(
            filtered.count, plain.count, "x86 filter should shrink machine code (\(filtered.count) vs \(plain.count))")
        XCTAssertTrue(try Codecs.decompress(filtered, codec: .zstd, maxOutput: exe.count, filter: .x86) == exe)
        XCTAssertTrue(
            try Codecs.decompress(filtered, codec: .zstd, maxOutput: exe.count) != exe,
            "the stored stream is transformed")
    }

    /// LayerEncoder fed in odd pieces (file reads) gives the same stream as one piece.
    func testLayerEncoderIsIndependentOfPieceSizes() throws {
        let data = branchy(3 << 20, seed: 42)
        let whole = try Codecs.compress(data, codec: .xz, level: 1, filter: .x86)
        let e = try LayerEncoder(codec: .xz, level: 1, filter: .x86, totalSize: UInt64(data.count))
        var out: [UInt8] = []
        try data.withUnsafeBytes { all in
            var pos = 0, k = 0
            let sizes = [1, 3, 4, 5, 1 << 20, 77_777, 2 << 20]
            while pos < all.count {
                let end = min(pos + sizes[k % sizes.count], all.count)
                try e.encode(UnsafeRawBufferPointer(rebasing: all[pos..<end]), into: &out)
                pos = end; k += 1
            }
        }
        try e.finish(into: &out)
        XCTAssertTrue(try Codecs.decompress(out, codec: .xz, maxOutput: data.count, filter: .x86) == data)
        XCTAssertTrue(try Codecs.decompress(whole, codec: .xz, maxOutput: data.count, filter: .x86) == data)
        XCTAssertTrue(out == whole, "xz at one level is deterministic, so the streams must be identical")
    }
}
