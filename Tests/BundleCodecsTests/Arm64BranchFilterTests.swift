import CLZMA
import Foundation
import XCTest
@testable import BundleCodecs
import BundleFormat
import TestSupport

/// The ARM64 branch filter (docs/format.md, "Filters", filter 2): exact vectors, a second
/// implementation written from the spec's text, liblzma's ARM64 filter as the outside reference,
/// every 32-bit word class round-tripping, frames at any position and any chunking, and the size it
/// saves on real arm64 machine code.
final class Arm64BranchFilterTests: XCTestCase {
    // MARK: the spec, written plainly

    /// One word at stream position `pc`, from docs/format.md's text with signed arithmetic (unlike
    /// the filter's modular one).
    func referenceWord(_ w: UInt32, pc: UInt64, encoding: Bool) -> UInt32 {
        let sign: Int64 = encoding ? 1 : -1
        if w >> 26 == 0b100101 {  // BL
            let imm = Int64(w & 0x03FF_FFFF)
            let shifted = Int64((pc % (1 << 32)) / 4)
            let new = ((imm + sign * shifted) % (1 << 26) + (1 << 26)) % (1 << 26)
            return (w & 0xFC00_0000) | UInt32(new)
        }
        if (w >> 24) & 0x9F == 0x90 {  // ADRP
            let immlo = Int64((w >> 29) & 3)
            let immhi = Int64((w >> 5) & 0x7FFFF)
            var imm = immhi << 2 | immlo  // 21 bits
            if imm >= 1 << 20 { imm -= 1 << 21 }  // signed page offset
            guard imm >= -(1 << 17) && imm < 1 << 17 else { return w }  // ±512 MiB only
            let pages = Int64((pc % (1 << 32)) / 4096)
            var t = ((imm + sign * pages) % (1 << 18) + (1 << 18)) % (1 << 18)
            if t >= 1 << 17 { t -= 1 << 18 }  // 18-bit signed
            let u = UInt32(t & 0x1F_FFFF)  // as 21 bits
            return (w & 0x9F00_001F) | (u & 3) << 29 | (u >> 2) << 5
        }
        return w
    }

    /// A buffer whose first byte is at stream position `position`, all of it inside the stream:
    /// every whole word at a 4-aligned stream position converted.
    func reference(_ data: [UInt8], encoding: Bool, position: UInt64) -> [UInt8] {
        var b = data
        var i = Int((4 - position % 4) % 4)
        while i + 4 <= b.count {
            let w = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
            let v = referenceWord(w, pc: position + UInt64(i), encoding: encoding)
            for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            i += 4
        }
        return b
    }

    /// Runs the streaming filter as `LayerEncoder` does: pieces of the given sizes (cycled), the
    /// unfinished remainder presented again in front of the next piece.
    func stream(
        _ data: [UInt8], encoding: Bool, position: UInt64 = 0, totalSize: UInt64? = nil, pieces: [Int]
    ) -> [UInt8] {
        var f = Arm64BranchFilter(
            encoding: encoding, totalSize: totalSize ?? position + UInt64(data.count), position: position)
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
            XCTAssertLessThanOrEqual(pending.count, 3, "at most one cut word waits")
            if atEnd {
                XCTAssertTrue(pending.isEmpty)
                break
            }
        }
        XCTAssertEqual(f.position, position + UInt64(data.count))
        return out
    }

    /// One frame the way `FrameFilter.run` filters it.
    func frame(_ data: [UInt8], encoding: Bool, position: UInt64, streamSize: UInt64) -> [UInt8] {
        var b = data
        b.withUnsafeMutableBytes {
            FrameFilter.run(.arm64, encoding: encoding, $0, streamSize: streamSize, position: position)
        }
        return b
    }

    static func bytes(_ w: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }

    static func bl(_ imm26: UInt32) -> UInt32 { 0x9400_0000 | imm26 & 0x03FF_FFFF }

    /// ADRP `Xrd, page offset imm` (21-bit two's complement).
    static func adrp(_ imm: Int32, rd: UInt32 = 0) -> UInt32 {
        let u = UInt32(bitPattern: imm) & 0x1F_FFFF
        return 0x9000_0000 | (u & 3) << 29 | (u >> 2) << 5 | rd & 0x1F
    }

    /// Random words, half of them BL or ADRP (in and out of ADRP's range), with odd bytes thrown in
    /// so words also straddle aligned positions.
    func armish(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 8)
        while out.count < n {
            let r = rng.next()
            switch r % 8 {
            case 0, 1: out += Self.bytes(Self.bl(UInt32(truncatingIfNeeded: r >> 8)))
            case 2:
                let imm = Int32(truncatingIfNeeded: Int64((r >> 16) % (1 << 19)) - (1 << 18))
                out += Self.bytes(Self.adrp(imm, rd: UInt32(r >> 40)))
            case 3: out += Self.bytes(Self.adrp(Int32(truncatingIfNeeded: r >> 11), rd: UInt32(r >> 40)))
            case 4: out.append(UInt8(truncatingIfNeeded: r >> 8))
            default: out += Self.bytes(UInt32(truncatingIfNeeded: r >> 8))
            }
        }
        return Array(out.prefix(n))
    }

    // MARK: vectors

    func testKnownVectors() {
        // BL +0x40 bytes (imm 0x10) at 0x1000: absolute target 0x1040, word offset 0x410.
        XCTAssertEqual(
            stream(Self.bytes(0x9400_0010), encoding: true, position: 0x1000, pieces: [4]), Self.bytes(0x9400_0410))
        XCTAssertEqual(
            stream(Self.bytes(0x9400_0410), encoding: false, position: 0x1000, pieces: [4]), Self.bytes(0x9400_0010))
        // BL -4 (imm 0x3FFFFFF) at 0x100: target 0xFC, word offset 0x3F.
        XCTAssertEqual(
            stream(Self.bytes(0x97FF_FFFF), encoding: true, position: 0x100, pieces: [4]), Self.bytes(0x9400_003F))
        // At stream position 0 nothing changes.
        XCTAssertEqual(stream(Self.bytes(0x97FF_FFFF), encoding: true, pieces: [4]), Self.bytes(0x97FF_FFFF))
        // ADRP x0, +1 page at 0x5000 (page 5): page 6, immlo 2 and immhi 1.
        XCTAssertEqual(Self.adrp(1), 0xB000_0000)
        XCTAssertEqual(
            stream(Self.bytes(0xB000_0000), encoding: true, position: 0x5000, pieces: [4]), Self.bytes(0xD000_0020))
        // ADRP x3, -1 page at 0x1000 (page 1): page 0.
        XCTAssertEqual(
            stream(Self.bytes(Self.adrp(-1, rd: 3)), encoding: true, position: 0x1000, pieces: [4]),
            Self.bytes(Self.adrp(0, rd: 3)))
        // ADRP x0, +0x20000 pages (512 MiB, out of range): left alone, as is its negative twin's neighbour.
        for imm: Int32 in [0x20000, -0x20001, 0xFFFFF, -0x100000] {
            XCTAssertEqual(
                stream(Self.bytes(Self.adrp(imm)), encoding: true, position: 0x7000, pieces: [4]),
                Self.bytes(Self.adrp(imm)), "ADRP \(imm) pages is outside ±512 MiB")
        }
        // ADRP at the top of the range wraps within 18 bits: +0x1FFFF pages at page 1 -> -0x20000.
        XCTAssertEqual(
            stream(Self.bytes(Self.adrp(0x1FFFF)), encoding: true, position: 0x1000, pieces: [4]),
            Self.bytes(Self.adrp(-0x20000)))
        // ADR (bit 31 clear) and B (0x14...) are not converted.
        for w: UInt32 in [0x1000_0000, 0x1400_0010, 0xD65F_03C0] {
            XCTAssertEqual(stream(Self.bytes(w), encoding: true, position: 0x9000, pieces: [4]), Self.bytes(w))
        }
    }

    /// The point of the filter: one target called or addressed from two places carries the same
    /// encoded word, the absolute target.
    func testBranchesToOneTargetEncodeTheSame() {
        var code = [UInt8](repeating: 0, count: 0x9000)
        let target: UInt64 = 0x8000
        for site: UInt64 in [0x40, 0x4000] {
            code.replaceSubrange(Int(site)..<Int(site) + 4, with: Self.bytes(Self.bl(UInt32((target - site) / 4))))
        }
        // ADRP x1 of page 0x2 from 0x0ffc (page 0) and 0x6000 (page 6).
        code.replaceSubrange(0x0FFC..<0x1000, with: Self.bytes(Self.adrp(2, rd: 1)))
        code.replaceSubrange(0x6000..<0x6004, with: Self.bytes(Self.adrp(-4, rd: 1)))
        XCTAssertNotEqual(code[0x40..<0x44], code[0x4000..<0x4004])
        let enc = stream(code, encoding: true, pieces: [code.count])
        XCTAssertEqual(Array(enc[0x40..<0x44]), Self.bytes(Self.bl(UInt32(target / 4))))
        XCTAssertEqual(Array(enc[0x4000..<0x4004]), Self.bytes(Self.bl(UInt32(target / 4))))
        XCTAssertEqual(Array(enc[0x0FFC..<0x1000]), Self.bytes(Self.adrp(2, rd: 1)))
        XCTAssertEqual(Array(enc[0x6000..<0x6004]), Self.bytes(Self.adrp(2, rd: 1)))
        XCTAssertEqual(stream(enc, encoding: false, pieces: [code.count]), code)
        // The same in two frames of a stream: positions are the stream's, not the frame's.
        let a = frame(Array(code[0..<0x2000]), encoding: true, position: 0, streamSize: UInt64(code.count))
        let b = frame(Array(code[0x2000...]), encoding: true, position: 0x2000, streamSize: UInt64(code.count))
        XCTAssertEqual(a + b, enc)
    }

    /// Every word class round-trips at every kind of position: the transform is a bijection of
    /// 32-bit words, and it keeps BL words BL and in-range ADRP words in range with their register.
    func testEveryWordRoundTripsAtAnyPosition() {
        var words: [UInt32] = [0, 0xFFFF_FFFF, 0x9400_0000, 0x97FF_FFFF, 0x9000_0000, 0x9FFF_FFFF, 0xF000_001F]
        for imm: Int32 in [0, 1, -1, 0x1FFFF, 0x20000, -0x20000, -0x20001, 0xFFFFF, -0x100000, 0x1DFFF] {
            for rd: UInt32 in [0, 17, 31] { words.append(Self.adrp(imm, rd: rd)) }
        }
        var rng = SplitMix64(state: 7)
        for _ in 0..<2000 { words.append(UInt32(truncatingIfNeeded: rng.next())) }
        for _ in 0..<500 {
            words.append(Self.bl(UInt32(truncatingIfNeeded: rng.next())))
            words.append(
                Self.adrp(Int32(truncatingIfNeeded: rng.next() % (1 << 19)) - (1 << 18), rd: UInt32(rng.next() % 32)))
        }
        let pcs: [UInt64] = [
            0, 4, 0xFFC, 0x1000, 0x7FF_FFFC, 1 << 28, (1 << 30) - 4, 1 << 30, (1 << 32) - 4, 1 << 32, (1 << 40) + 8,
        ]
        for pc in pcs {
            for w in words {
                let e = Arm64BranchFilter.convert(w, pc: UInt32(truncatingIfNeeded: pc), encoding: true)
                let d = Arm64BranchFilter.convert(w, pc: UInt32(truncatingIfNeeded: pc), encoding: false)
                XCTAssertEqual(e, referenceWord(w, pc: pc, encoding: true), "encode \(w) at \(pc)")
                XCTAssertEqual(d, referenceWord(w, pc: pc, encoding: false), "decode \(w) at \(pc)")
                XCTAssertEqual(Arm64BranchFilter.convert(e, pc: UInt32(truncatingIfNeeded: pc), encoding: false), w)
                XCTAssertEqual(Arm64BranchFilter.convert(d, pc: UInt32(truncatingIfNeeded: pc), encoding: true), w)
                if w >> 26 == 0x25 {
                    XCTAssertEqual(e >> 26, 0x25, "a BL stays a BL")
                } else if w & 0x9F00_0000 == 0x9000_0000 {
                    XCTAssertEqual(e & 0x9F00_001F, w & 0x9F00_001F, "an ADRP keeps its opcode and register")
                } else {
                    XCTAssertEqual(e, w, "other words are left alone")
                }
            }
        }
        // Positions matter modulo 2^30 only (so 1 GiB segments would change nothing).
        for w in words {
            XCTAssertEqual(
                Arm64BranchFilter.convert(w, pc: 0x1234_5678, encoding: true),
                Arm64BranchFilter.convert(w, pc: 0x1234_5678 + (1 << 30), encoding: true))
        }
    }

    func testRandomBytesRoundTripInAnyChunkingAndPosition() {
        for (n, seed) in [(0, 1), (1, 2), (3, 3), (4, 4), (5, 5), (977, 6), (70_001, 7)] as [(Int, UInt64)] {
            let data = armish(n, seed: seed)
            for position: UInt64 in [0, 1, 2, 3, 4, 4097, (1 << 32) - 2, (1 << 40) + 3] {
                let expected = reference(data, encoding: true, position: position)
                for pieces in [[n + 1], [1], [2, 3, 7], [4096], [5, 1, 9, 100_000]] {
                    let enc = stream(data, encoding: true, position: position, pieces: pieces)
                    XCTAssertTrue(enc == expected, "n \(n) at \(position), pieces \(pieces): differs from the spec")
                    XCTAssertTrue(
                        stream(enc, encoding: false, position: position, pieces: pieces) == data,
                        "n \(n) at \(position), pieces \(pieces): does not round-trip")
                }
                if n > 1000 { XCTAssertTrue(expected != data, "n \(n) at \(position): words were converted") }
            }
        }
        // The random bytes of a real layer: any bytes round-trip.
        var rng = SplitMix64(state: 99)
        let noise = rng.bytes(1 << 20)
        XCTAssertTrue(
            stream(stream(noise, encoding: true, pieces: [65_537]), encoding: false, pieces: [3, 1 << 20]) == noise)
    }

    /// Frames as `FrameFilter.run` sees them: each on its own, at its stream position, of sizes that
    /// need not be multiples of 4 (so frames start at unaligned positions and words are cut by a
    /// frame's end). Each frame is the spec applied to that frame alone, and round-trips.
    func testFramesAtUnalignedPositionsRoundTrip() {
        let data = armish(50_003, seed: 11)
        for frameSize in [1, 3, 5, 64, 4099, 8192, 50_003] {
            var encoded: [UInt8] = []
            var start = 0
            while start < data.count {
                let end = min(start + frameSize, data.count)
                let piece = Array(data[start..<end])
                let e = frame(piece, encoding: true, position: UInt64(start), streamSize: UInt64(data.count))
                XCTAssertTrue(e == reference(piece, encoding: true, position: UInt64(start)), "frame at \(start)")
                XCTAssertTrue(
                    frame(e, encoding: false, position: UInt64(start), streamSize: UInt64(data.count)) == piece,
                    "frame at \(start) of \(frameSize) bytes does not round-trip")
                encoded += e
                start = end
            }
            if frameSize % 4 == 0 {
                XCTAssertTrue(
                    encoded == reference(data, encoding: true, position: 0), "aligned frames filter as the whole stream"
                )
            }
        }
        // A word cut by the frame's end is left alone: its first bytes here, the rest in the next frame.
        let bl = Self.bytes(Self.bl(1))
        XCTAssertEqual(
            frame([0, 0, 0, 0] + bl.prefix(3), encoding: true, position: 0x100, streamSize: 0x200),
            [0, 0, 0, 0] + bl.prefix(3))
        XCTAssertEqual(
            frame(Array(bl.suffix(1)) + bl, encoding: true, position: 0x103, streamSize: 0x200),
            [bl[3]] + Self.bytes(Self.bl(1 + 0x104 / 4)))
    }

    /// Bytes at or past the declared stream size are left alone (a frame never has any).
    func testBytesPastTheStreamAreLeftAlone() {
        let data = armish(4096, seed: 12)
        let enc = stream(data, encoding: true, position: 1000, totalSize: 1000 + 2002, pieces: [7])
        XCTAssertTrue(Array(enc[0..<2000]) == Array(reference(data, encoding: true, position: 1000)[0..<2000]))
        XCTAssertTrue(Array(enc[2000...]) == Array(data[2000...]))
        XCTAssertTrue(stream(data, encoding: true, position: 5000, totalSize: 4000, pieces: [5]) == data)
    }

    // MARK: liblzma, the outside reference

    /// liblzma's ARM64 filter (xz 5.4+) with `start_offset` applied to `data`, read back through a
    /// raw LZMA2 stream: the filter chain [ARM64, LZMA2] encoded, [LZMA2] alone decoded.
    func liblzmaARM64(_ data: [UInt8], startOffset: UInt32) throws -> [UInt8] {
        let arm64Filter: lzma_vli = 0x0A  // LZMA_FILTER_ARM64 (xz 5.4.0 and later)
        try require(
            lzma_filter_encoder_is_supported(arm64Filter) != 0, "the system liblzma has no ARM64 filter (xz 5.4+)")
        var bcj = lzma_options_bcj(start_offset: startOffset)
        var lz = lzma_options_lzma()
        XCTAssertEqual(lzma_lzma_preset(&lz, 0), 0)
        var packed = [UInt8](repeating: 0, count: data.count + data.count / 2 + 4096)
        var packedSize = 0
        let r = withUnsafeMutablePointer(to: &bcj) { b in
            withUnsafeMutablePointer(to: &lz) { l in
                var chain = [
                    lzma_filter(id: arm64Filter, options: UnsafeMutableRawPointer(b)),
                    lzma_filter(id: CLZMA_FILTER_LZMA2, options: UnsafeMutableRawPointer(l)),
                    lzma_filter(id: CLZMA_VLI_UNKNOWN, options: nil),
                ]
                return lzma_raw_buffer_encode(&chain, nil, data, data.count, &packed, &packedSize, packed.count)
            }
        }
        XCTAssertEqual(r, LZMA_OK)
        var out = [UInt8](repeating: 0, count: data.count)
        var inPos = 0
        var outPos = 0
        let d = withUnsafeMutablePointer(to: &lz) { l in
            var chain = [
                lzma_filter(id: CLZMA_FILTER_LZMA2, options: UnsafeMutableRawPointer(l)),
                lzma_filter(id: CLZMA_VLI_UNKNOWN, options: nil),
            ]
            return lzma_raw_buffer_decode(&chain, nil, packed, &inPos, packedSize, &out, &outPos, out.count)
        }
        XCTAssertEqual(d, LZMA_OK)
        XCTAssertEqual(outPos, data.count)
        return out
    }

    /// At 4-aligned positions the filter is liblzma's, byte for byte; a frame at an unaligned
    /// position is liblzma's from its first aligned byte.
    func testMatchesLiblzmaARM64() throws {
        let data = armish(100_003, seed: 13)
        for position: UInt64 in [0, 4, 0x12344, 0xFFFF_F000, (1 << 32) + 0x3000] {
            let ours = stream(data, encoding: true, position: position, pieces: [data.count])
            let theirs = try liblzmaARM64(data, startOffset: UInt32(truncatingIfNeeded: position))
            XCTAssertTrue(ours == theirs, "at \(position): differs from liblzma")
        }
        for position: UInt64 in [1, 2, 0x12347] {
            let gap = Int((4 - position % 4) % 4)
            let ours = stream(data, encoding: true, position: position, pieces: [data.count])
            let theirs = try liblzmaARM64(
                Array(data[gap...]), startOffset: UInt32(truncatingIfNeeded: position + UInt64(gap)))
            XCTAssertTrue(Array(ours[..<gap]) == Array(data[..<gap]))
            XCTAssertTrue(Array(ours[gap...]) == theirs, "at \(position): differs from liblzma")
        }
    }

    // MARK: real code and the whole-stream paths

    /// Real arm64 machine code (the cross glibc that scripts/install-deps.sh installs) compresses
    /// smaller, and the one-shot encoder and decoder undo it exactly.
    func testArm64MachineCodeCompressesSmallerAndRoundTrips() throws {
        let path = "/usr/aarch64-linux-gnu/lib/libc.so.6"
        try require(
            FileManager.default.fileExists(atPath: path),
            "\(path) is missing (libc6-arm64-cross: run scripts/install-deps.sh)")
        let code = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        let plain = try Codecs.compress(code, codec: .zstd, level: 3)
        let filtered = try Codecs.compress(code, codec: .zstd, level: 3, filter: .arm64)
        XCTAssertLessThan(
            filtered.count, plain.count, "arm64 filter should shrink arm64 code (\(filtered.count) vs \(plain.count))")
        XCTAssertTrue(try Codecs.decompress(filtered, codec: .zstd, maxOutput: code.count, filter: .arm64) == code)
        XCTAssertTrue(
            try Codecs.decompress(filtered, codec: .zstd, maxOutput: code.count) != code,
            "the stored stream is transformed")
    }

    /// LayerEncoder fed in odd pieces (file reads) gives the same stream as one piece.
    func testLayerEncoderIsIndependentOfPieceSizes() throws {
        let data = armish(3 << 20, seed: 42)
        let whole = try Codecs.compress(data, codec: .xz, level: 1, filter: .arm64)
        let e = try LayerEncoder(codec: .xz, level: 1, filter: .arm64, totalSize: UInt64(data.count))
        var out: [UInt8] = []
        try data.withUnsafeBytes { all in
            var pos = 0
            var k = 0
            let sizes = [1, 3, 4, 5, 1 << 20, 77_777, 2 << 20]
            while pos < all.count {
                let end = min(pos + sizes[k % sizes.count], all.count)
                try e.encode(UnsafeRawBufferPointer(rebasing: all[pos..<end]), into: &out)
                pos = end
                k += 1
            }
        }
        try e.finish(into: &out)
        XCTAssertTrue(try Codecs.decompress(out, codec: .xz, maxOutput: data.count, filter: .arm64) == data)
        XCTAssertTrue(out == whole, "xz at one level is deterministic, so the streams must be identical")
        XCTAssertTrue(
            try Codecs.decompress(whole, codec: .xz, maxOutput: data.count)
                == reference(data, encoding: true, position: 0))
    }

    func testFilterNameAndNumber() {
        XCTAssertEqual(LayerFilter.arm64.rawValue, 2)
        XCTAssertEqual(LayerFilter.arm64.name, "arm64")
        XCTAssertEqual(LayerFilter(name: "arm64"), .arm64)
    }
}
