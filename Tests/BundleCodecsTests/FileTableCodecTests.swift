import Foundation
import XCTest
import BundleCodecs
import BundleFormat
import CZstd
import TestSupport

/// The stored form of a file table (docs/format.md, "File table"): one zstd frame, window at most
/// 2^`Limits.fileTableWindowLog` (128 KiB), decoded size at most `Limits.maxFileTableLength`, nothing after it.
final class FileTableCodecTests: XCTestCase {
    /// Table-like bytes: sorted, similar paths and incompressible 32-byte (pseudo-random) digests;
    /// the same bytes for the same `seed` (printed, once per call: each test calls it once).
    func tableLike(_ files: Int, seed: UInt64 = 0x7AB1E) -> [UInt8] {
        var rng = SplitMix64.seeded(seed, for: name)
        var out: [UInt8] = []
        for i in 0..<files {
            out += [1, 0xA4, 0x01, 0, 0] + [UInt8](repeating: 0, count: 8)
            let path = Array("node_modules/package-\(i / 50)/lib/file-\(i).js".utf8)
            out += withUnsafeBytes(of: UInt32(path.count).littleEndian, Array.init) + path
            out += (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        return out
    }

    /// Decodes through the streaming reader with an output buffer of `chunk` bytes.
    func streamed(_ stored: [UInt8], chunk: Int) throws -> [UInt8] {
        var source = try StoredTableDecoder(stored: ArraySource(stored))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = try buffer.withUnsafeMutableBytes { b in try source.read(into: b) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    func testRoundTripAndSmaller() throws {
        let table = tableLike(5000)
        let stored = try FileTableCodec.encode(table)
        XCTAssertEqual(Array(stored.prefix(4)), StoredTableDecoder<ArraySource>.frameMagic)
        XCTAssertLessThan(stored.count, table.count * 6 / 10, "paths compress; digests do not")
        XCTAssertEqual(try FileTableCodec.decode(stored), table)
        for chunk in [1, 7, 4096, 1 << 20] {
            XCTAssertEqual(try streamed(stored, chunk: chunk), table, "chunk \(chunk)")
        }
        XCTAssertEqual(try FileTableCodec.encode(table), stored, "deterministic")
    }

    func testEmptyTableIsOneFrame() throws {
        let stored = try FileTableCodec.encode([])
        XCTAssertGreaterThan(stored.count, 4)
        XCTAssertEqual(try FileTableCodec.decode(stored), [])
        assertBundleError(try FileTableCodec.decode([]), .codec, mentions: "not a zstd frame")
    }

    func testRefusesWhatIsNotExactlyOneFrame() throws {
        let table = tableLike(300)
        let stored = try FileTableCodec.encode(table)
        assertBundleError(try FileTableCodec.decode(table), .codec, mentions: "not a zstd frame")  // stored raw, as in format version 1
        assertBundleError(try FileTableCodec.decode(stored + [0]), .codec, mentions: "bytes after its zstd frame")
        assertBundleError(try FileTableCodec.decode(stored + stored), .codec, mentions: "bytes after its zstd frame")
        for cut in [4, 10, stored.count / 2, stored.count - 1] {
            assertBundleError(try FileTableCodec.decode(Array(stored.prefix(cut))), .truncated, mentions: "truncated")
        }
        // A skippable frame (magic 0x184D2A50) in front of the real one.
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]
        assertBundleError(try FileTableCodec.decode(skippable + stored), .codec, mentions: "not a zstd frame")
        var flipped = stored
        flipped[stored.count / 2] ^= 0xFF
        // No zstd checksum: a flipped byte either fails to decode or decodes to other bytes,
        // which the table digest (over the decoded bytes) then refuses.
        if let decoded = try? FileTableCodec.decode(flipped) { XCTAssertNotEqual(decoded, table) }
    }

    /// A frame whose window is over 128 KiB is refused before the decoder allocates it.
    func testRefusesLargerWindow() throws {
        let table = tableLike(40_000)  // about 3 MB: larger than any window, so it is not single-segment
        XCTAssertGreaterThan(table.count, 2 << 20)
        let c = try Compressor(codec: .zstd, level: 19)  // window 8 MiB, size unknown to the encoder
        var stored: [UInt8] = []
        try withBytes(table) { (b) throws(BundleError) in try c.compress(b, into: &stored) }
        try c.finish(into: &stored)
        assertBundleError(try FileTableCodec.decode(stored), .tooLarge, mentions: "window larger than 128 KiB")
    }

    /// Decoding stops one byte past 256 MiB, whatever the frame declares.
    func testDecodedSizeIsLimited() throws {
        let zeros = [UInt8](repeating: 0, count: Int(Limits.maxFileTableLength) + 1)
        let stored = try FileTableCodec.encode(zeros)
        XCTAssertLessThan(stored.count, 64 << 10)
        var source = try StoredTableDecoder(stored: ArraySource(stored))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var caught: BundleError?
        do { while try source.read(into: buffer) > 0 {} } catch { caught = error }
        XCTAssertEqual(caught?.code, .tooLarge, "\(String(describing: caught))")
        XCTAssertEqual(source.decodedCount, Limits.maxFileTableLength + 1)
        let exact = try FileTableCodec.encode(Array(zeros.dropLast()))
        XCTAssertEqual(try FileTableCodec.decode(exact).count, Int(Limits.maxFileTableLength))
    }
}
