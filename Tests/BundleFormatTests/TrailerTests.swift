import XCTest
import TestSupport
@testable import BundleFormat

final class TrailerTests: XCTestCase {
    typealias F = Fx.TrailerField

    func decode(_ b: [UInt8], size: UInt64 = Fx.fileSize) throws -> Trailer { try Trailer(decoding: b, fileSize: size) }
    func decodeRaw(_ b: [UInt8], size: UInt64 = Fx.fileSize) throws -> Trailer {
        try b.withUnsafeBytes { try Trailer(decoding: $0, fileSize: size) }
    }
    var valid: [UInt8] { Fx.trailer().encoded() }

    /// A trailer with the given region lengths laid out back to back after a stub.
    func laidOut(stub: UInt64 = 0, layers: UInt64, header: UInt64, tables: UInt64, signature: UInt64, signed: Bool) -> (
        bytes: [UInt8], size: UInt64
    ) {
        let h = stub + layers, t = h + header, s = t + tables, end = s + signature
        let tr = Trailer(signed: signed, layers: stub..<h, header: h..<t, tables: t..<s, signature: s..<end)
        return (tr.encoded(), end + UInt64(Trailer.size))
    }

    // MARK: Round trips

    func testRoundTripSignedAndUnsigned() throws {
        for signed in [true, false] {
            let t = Fx.trailer(signed: signed)
            let bytes = t.encoded()
            XCTAssertEqual(bytes.count, Trailer.size)
            XCTAssertEqual(Array(bytes.prefix(8)), Array("DGMOBNDL".utf8))
            let decoded = try decode(bytes)
            XCTAssertEqual(decoded, t)
            XCTAssertEqual(try decodeRaw(bytes), t)
            XCTAssertEqual(decoded.encoded(), bytes)
            XCTAssertEqual(decoded.isSigned, signed)
            XCTAssertEqual(decoded.version, Trailer.currentVersion)
            XCTAssertEqual(decoded.stubLength, 1000)
            XCTAssertEqual(decoded.layers, 1000..<5000)
            XCTAssertEqual(decoded.header, 5000..<6000)
            XCTAssertEqual(decoded.signature.upperBound, Fx.fileSize - 96)
            XCTAssertEqual(decoded.signature.count, signed ? SignatureBlock.size : 0)
        }
    }

    func testEncodingLayout() {
        let b = valid
        XCTAssertEqual(b[8..<12].elementsEqual([3, 0, 0, 0]), true)  // version 3, little-endian
        XCTAssertEqual(b[12..<16].elementsEqual([1, 0, 0, 0]), true)  // signed flag
        XCTAssertEqual(b[16..<24].elementsEqual([0xE8, 0x03, 0, 0, 0, 0, 0, 0]), true)  // layers offset 1000
        XCTAssertEqual(b[24..<32].elementsEqual([0xA0, 0x0F, 0, 0, 0, 0, 0, 0]), true)  // layers length 4000
        XCTAssertTrue(b[80..<96].allSatisfy { $0 == 0 })
    }

    func testSmallestValidBundles() throws {
        // No stub, no layers, a 1-byte header, no tables, unsigned.
        let (b, size) = laidOut(layers: 0, header: 1, tables: 0, signature: 0, signed: false)
        XCTAssertEqual(size, 97)
        let t = try decode(b, size: size)
        XCTAssertEqual(t.header, 0..<1)
        XCTAssertEqual(t.stubLength, 0)
        // Limits exactly: header of 4 MiB, signature of 4096 bytes.
        let (big, bigSize) = laidOut(
            stub: 7, layers: 3, header: Limits.maxHeaderLength, tables: 5, signature: Limits.maxSignatureLength,
            signed: true)
        XCTAssertEqual(try decode(big, size: bigSize).header.count, Int(Limits.maxHeaderLength))
    }

    // MARK: Rejections

    func testBadMagic() {
        for i in 0..<8 {
            assertBundleError(try decode(valid.setting(i, valid[i] ^ 0x20)), .badTrailer, context: "byte \(i)")
        }
        assertBundleError(try decode([UInt8](repeating: 0, count: 96)), .badTrailer)
    }

    func testUnknownVersion() {
        // 1: the format before layer data digests; 2: before frames (one data digest per layer). A
        // version 3 reader refuses both rather than misread them.
        for v: UInt32 in [0, 1, 2, 4, 0x100, 0xFFFF_FFFF] {
            assertBundleError(try decode(valid.putting32(v, at: 8)), .badTrailer, mentions: "version \(v)", "version 3")
        }
    }

    func testUnknownFlags() {
        for f: UInt32 in [2, 3, 0x100, 0x8000_0000, 0xFFFF_FFFF] {
            assertBundleError(
                try decode(valid.putting32(f, at: 12)), .badTrailer, mentions: "0x\(String(f, radix: 16))")
        }
    }

    func testNonZeroReserved() {
        for i in 80..<96 {
            assertBundleError(try decode(valid.setting(i, 1)), .badTrailer, context: "byte \(i)")
        }
    }

    func testOffsetPlusLengthOverflow() {
        for field in F.allCases {
            let at = field.rawValue
            assertBundleError(try decode(valid.putting64(.max, at: at)), .badTrailer, mentions: "\(field.name) region")
            assertBundleError(
                try decode(valid.putting64(.max, at: at + 8)), .badTrailer, mentions: "\(field.name) region")
            assertBundleError(try decode(valid.putting64(.max, at: at).putting64(.max, at: at + 8)), .badTrailer)
            assertBundleError(try decode(valid.putting64(2, at: at).putting64(.max - 1, at: at + 8)), .badTrailer)
            // Also with the largest file size: the sum overflows rather than passing the bound.
            assertBundleError(
                try decode(valid.putting64(10, at: at).putting64(.max - 5, at: at + 8), size: .max), .badTrailer)
        }
    }

    func testRegionPastEndOfFile() {
        // Each region ending one byte into the trailer.
        for field in F.allCases {
            let at = field.rawValue
            let end = Fx.fileSize - 96 + 1
            assertBundleError(
                try decode(valid.putting64(end - 1, at: at).putting64(1, at: at + 8)), .badTrailer,
                mentions: "\(field.name) region")
        }
        // The signature block running past the end of the file.
        assertBundleError(try decode(valid.putting64(200, at: 72)), .badTrailer)
        // A valid trailer measured against a smaller file.
        assertBundleError(try decode(valid, size: Fx.fileSize - 1), .badTrailer)
        assertBundleError(try decode(valid, size: 96), .badTrailer)
    }

    func testGapsAndOverlaps() {
        let b = valid
        let cases: [([UInt8], String)] = [
            // gap between layers and header (layers one byte shorter)
            (b.putting64(3999, at: 24), "layers shorter"),
            // overlap: layers one byte longer
            (b.putting64(4001, at: 24), "layers longer"),
            // gap and overlap between header and tables
            (b.putting64(999, at: 40), "header shorter"),
            (b.putting64(1001, at: 40), "header longer"),
            // tables and signature
            (b.putting64(6001, at: 48).putting64(3829, at: 56), "tables start late"),
            (b.putting64(5999, at: 48).putting64(3831, at: 56), "tables start early"),
            // signature block not ending at the trailer
            (b.putting64(73, at: 72), "signature ends before the trailer"),
            // regions in the wrong order: header before layers
            (
                b.putting64(5000, at: 16).putting64(1000, at: 24).putting64(1000, at: 32).putting64(4000, at: 40),
                "swapped"
            ),
            // everything overlapping the same range
            (b.putting64(0, at: 16).putting64(0, at: 24).putting64(0, at: 32).putting64(9830, at: 40), "overlap"),
        ]
        for (bytes, what) in cases {
            assertBundleError(try decode(bytes), .badTrailer, context: what)
        }
        // A file larger than the regions describe: a gap before the trailer.
        assertBundleError(try decode(valid, size: Fx.fileSize + 1), .badTrailer)
    }

    func testHeaderLength() {
        let (zero, zeroSize) = laidOut(stub: 10, layers: 5, header: 0, tables: 5, signature: 0, signed: false)
        assertBundleError(try decode(zero, size: zeroSize), .badTrailer, mentions: "header length 0")
        let (over, overSize) = laidOut(
            layers: 0, header: Limits.maxHeaderLength + 1, tables: 0, signature: 0, signed: false)
        assertBundleError(
            try decode(over, size: overSize), .badTrailer, mentions: "header length \(Limits.maxHeaderLength + 1)")
        let (huge, hugeSize) = laidOut(layers: 0, header: 1 << 40, tables: 0, signature: 0, signed: false)
        assertBundleError(try decode(huge, size: hugeSize), .badTrailer)
    }

    func testSignatureOverLimit() {
        let (b, size) = laidOut(layers: 1, header: 1, tables: 1, signature: Limits.maxSignatureLength + 1, signed: true)
        assertBundleError(
            try decode(b, size: size), .badTrailer, mentions: "signature block length \(Limits.maxSignatureLength + 1)")
        let (h, hSize) = laidOut(layers: 1, header: 1, tables: 1, signature: 1 << 40, signed: true)
        assertBundleError(try decode(h, size: hSize), .badTrailer)
    }

    func testSignedFlagMustMatchSignature() {
        let (noSig, s1) = laidOut(layers: 10, header: 10, tables: 10, signature: 0, signed: true)
        assertBundleError(try decode(noSig, size: s1), .badTrailer)
        let (withSig, s2) = laidOut(layers: 10, header: 10, tables: 10, signature: 74, signed: false)
        assertBundleError(try decode(withSig, size: s2), .badTrailer)
        // Flipping the flag of a valid trailer either way.
        assertBundleError(try decode(valid.putting32(0, at: 12)), .badTrailer)
        assertBundleError(try decode(Fx.trailer(signed: false).encoded().putting32(1, at: 12)), .badTrailer)
    }

    func testFileSmallerThanTrailer() {
        for size: UInt64 in [0, 1, 50, 95] {
            assertBundleError(try decode(valid, size: size), .badTrailer, mentions: "\(size) bytes")
            assertBundleError(try decodeRaw(valid, size: size), .badTrailer)
        }
    }

    func testTruncatedTrailerBytesAtEveryLength() {
        let b = valid
        for n in 0..<Trailer.size {
            let prefix = Array(b.prefix(n))
            assertThrowsBundleError(try decode(prefix), "prefix \(n)")
            assertThrowsBundleError(try decodeRaw(prefix), "prefix \(n)")
            assertThrowsBundleError(try decode(prefix, size: UInt64(n)), "prefix \(n), file of \(n)")
            // The tail of the trailer (what a reader of a short file might have).
            assertThrowsBundleError(try decode(Array(b.suffix(n))), "suffix \(n)")
        }
        // Longer than a trailer is refused too.
        assertThrowsBundleError(try decode(b + [0]))
    }

    /// Every single-byte change either is refused or decodes to a trailer that re-encodes to the
    /// same bytes; nothing traps.
    func testSingleByteMutationsNeverTrap() {
        var rng = SplitMix64(state: 0x5EED)
        for signed in [true, false] {
            let base = Fx.trailer(signed: signed).encoded()
            for i in 0..<Trailer.size {
                var values: [UInt8] = [0, 1, 0x80, 0xFF, base[i] ^ 1]
                for _ in 0..<4 { values.append(UInt8.random(in: 0...255, using: &rng)) }
                for v in values {
                    let b = base.setting(i, v)
                    do {
                        let t = try decode(b)
                        XCTAssertEqual(t.encoded(), b, "byte \(i) = \(v)")
                    } catch {}
                }
            }
        }
    }
}
