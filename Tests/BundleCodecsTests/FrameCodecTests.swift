import Foundation
import XCTest
import BundleCodecs
import BundleFormat
import TestSupport

/// Whole-frame coding (format version 3): `FrameEncoder` makes one complete zstd frame, xz stream
/// or zlib stream (or the bytes themselves) of a frame, filtered first; `FrameDecompressor`
/// decodes exactly one such frame into exactly the bytes its record declares, reusing its state
/// from frame to frame, and refuses anything else with a `BundleError` rather than a partial
/// result.
final class FrameCodecTests: XCTestCase {
    /// Text that compresses, call/jmp opcodes the x86 filter rewrites, and random bytes.
    func sample(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 8)
        let words = ["frame", "decoder", "thread", " ", "\n"].map { Array($0.utf8) }
        while out.count < n {
            switch rng.next() % 3 {
            case 0: for _ in 0..<20 { out += words[Int(rng.next() % UInt64(words.count))] }
            case 1:
                out.append(0xE8)
                let x = UInt32(bitPattern: Int32(Int(rng.next() % 2001) - 1000))
                for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: x >> (8 * UInt32(k)))) }
            default: out += rng.bytes(Int(rng.next() % 64))
            }
        }
        return Array(out.prefix(n))
    }

    func encode(_ data: [UInt8], _ codec: Codec, filter: LayerFilter = .none, level: Int? = nil) throws -> [UInt8] {
        var bytes = data
        return try bytes.withUnsafeMutableBytes { (b) throws(BundleError) in
            // One frame that is the whole stream: its positions start at 0.
            try FrameEncoder.encode(
                b, codec: codec, level: level ?? codec.defaultLevel, filter: filter, offset: 0,
                streamSize: UInt64(data.count))
        }
    }

    /// Decodes `stored` into exactly `size` bytes with `d`, and undoes `filter` as the launcher does.
    func decode(_ stored: [UInt8], size: Int, with d: FrameDecompressor, filter: LayerFilter = .none) throws
        -> [UInt8]
    {
        var out = [UInt8](repeating: 0xCC, count: size)
        try stored.withUnsafeBytes { input in
            try out.withUnsafeMutableBytes { output in
                try d.decode(input, into: output)
                FrameFilter.run(filter, encoding: false, output, streamSize: UInt64(size), position: 0)
            }
        }
        return out
    }

    func testEveryCodecAndFilterRoundTripsWholeFramesWithOneDecoder() throws {
        for codec in Codec.allCases {
            let decoder = try FrameDecompressor(codec: codec)
            for filter in LayerFilter.allCases {
                // Several frames through one decoder, as a decoding thread does: sizes from one byte
                // to more than the zlib window and a few xz blocks' worth.
                for (i, size) in [1, 5, 4096, 70_000, 1 << 20, 3].enumerated() {
                    let data = sample(size, seed: UInt64(i))
                    let stored = try encode(data, codec, filter: filter)
                    if codec == .none { XCTAssertEqual(stored.count, size) }
                    XCTAssertLessThanOrEqual(
                        UInt64(stored.count), FrameRecord.maxStoredSize(decodedSize: UInt64(size)),
                        "\(codec.name)+\(filter.name) \(size): within the format's bound")
                    let back = try decode(stored, size: size, with: decoder, filter: filter)
                    XCTAssertTrue(back == data, "\(codec.name)+\(filter.name) \(size) bytes")
                }
            }
        }
    }

    /// Data that does not compress stays within `FrameRecord.maxStoredSize` (4 MiB of random bytes:
    /// each codec's overhead on such data grows with the size, as the bound does).
    func testIncompressibleFramesStayWithinTheStoredBound() throws {
        var rng = SplitMix64(state: 99)
        var data = [UInt8](repeating: 0, count: 4 << 20)
        data.withUnsafeMutableBytes { b in
            for i in 0..<(b.count / 8) { b.storeBytes(of: rng.next(), toByteOffset: 8 * i, as: UInt64.self) }
        }
        for codec in [Codec.zstd, .xz, .zlib] {
            let stored = try encode(data, codec, level: 1)
            XCTAssertGreaterThan(stored.count, data.count, codec.name)
            XCTAssertLessThanOrEqual(
                UInt64(stored.count), FrameRecord.maxStoredSize(decodedSize: UInt64(data.count)), codec.name)
        }
    }

    /// A frame must fill its output exactly and end exactly at the end of its stored bytes: more or
    /// fewer decoded bytes than declared, bytes after the frame, a second frame, a cut frame, or
    /// bytes of another codec are each a `.codec` error; after one, the same decoder decodes the
    /// next good frame.
    func testAFrameMustDecodeToExactlyItsDeclaredSize() throws {
        let data = sample(50_000, seed: 7)
        for codec in [Codec.zstd, .xz, .zlib] {
            let d = try FrameDecompressor(codec: codec)
            let stored = try encode(data, codec)
            let other = try encode(data, codec == .zstd ? .xz : .zstd)
            let cases: [(String, [UInt8], Int)] = [
                ("declared one byte more", stored, data.count + 1),
                ("declared one byte less", stored, data.count - 1),
                ("declared 0", stored, 0),
                ("a byte after the frame", stored + [0], data.count),
                ("two frames", stored + stored, data.count),
                ("two frames, both declared", stored + stored, 2 * data.count),
                ("cut", Array(stored.dropLast(7)), data.count),
                ("only the header", Array(stored.prefix(6)), data.count),
                ("empty", [], data.count),
                ("another codec", other, data.count),
            ]
            for (what, bytes, size) in cases {
                XCTAssertThrowsError(try decode(bytes, size: size, with: d), "\(codec.name): \(what)") {
                    XCTAssertEqual(($0 as? BundleError)?.code, .codec, "\(codec.name): \(what): \($0)")
                    XCTAssertTrue(
                        ($0 as? BundleError)?.message.hasPrefix(codec.name + ": ") == true,
                        "\(codec.name): \(what): \($0)")
                }
                XCTAssertTrue(try decode(stored, size: data.count, with: d) == data, "\(codec.name) after \(what)")
            }
        }
        // Codec none: the stored bytes are the frame; only the sizes can disagree.
        let none = try FrameDecompressor(codec: .none)
        XCTAssertEqual(try decode([1, 2, 3], size: 3, with: none), [1, 2, 3])
        assertBundleError(try decode([1, 2, 3], size: 4, with: none), .codec, mentions: "none: 3 stored bytes for 4")
    }

    /// The messages a decoding thread reports for a frame whose decoded size is off say which way.
    func testMessagesSayWhatIsWrong() throws {
        let data = sample(10_000, seed: 8)
        let zstd = try FrameDecompressor(codec: .zstd)
        let z = try encode(data, .zstd)
        assertBundleError(
            try decode(z, size: data.count + 1, with: zstd), .codec,
            mentions: "zstd: frame decodes to \(data.count) bytes, not the \(data.count + 1) declared")
        assertBundleError(try decode(z + [0], size: data.count, with: zstd), .codec, mentions: "1 unexpected bytes")
        assertBundleError(try decode([0x5A, 0x5A, 0x5A, 0x5A, 0x5A], size: 5, with: zstd), .codec, mentions: "zstd:")
        var last = z
        last[last.count - 1] ^= 0xFF  // the content checksum
        assertBundleError(try decode(last, size: data.count, with: zstd), .codec, mentions: "checksum mismatch")

        let xz = try FrameDecompressor(codec: .xz)
        let x = try encode(data, .xz)
        assertBundleError(
            try decode(x, size: data.count + 1, with: xz), .codec,
            mentions: "xz: stream decodes to \(data.count) bytes, not the \(data.count + 1) declared")
        assertBundleError(
            try decode(x, size: data.count - 1, with: xz), .codec,
            mentions: "xz: stream decodes to more than the \(data.count - 1) bytes declared")
        assertBundleError(try decode(x + [0, 0, 0, 0], size: data.count, with: xz), .codec)
        assertBundleError(try decode(Array(x.dropLast(20)), size: data.count, with: xz), .codec, mentions: "xz:")

        let zlib = try FrameDecompressor(codec: .zlib)
        let l = try encode(data, .zlib)
        assertBundleError(
            try decode(l, size: data.count + 1, with: zlib), .codec,
            mentions: "zlib: stream decodes to \(data.count) bytes, not the \(data.count + 1) declared")
        assertBundleError(
            try decode(l, size: data.count - 1, with: zlib), .codec,
            mentions: "zlib: stream decodes to more than the \(data.count - 1) bytes declared")
        assertBundleError(try decode(l + [9], size: data.count, with: zlib), .codec, mentions: "1 unexpected bytes")
        assertBundleError(try decode(Array(l.dropLast(9)), size: data.count, with: zlib), .codec, mentions: "zlib:")
        assertBundleError(try decode(Array(l.prefix(20)), size: data.count, with: zlib), .codec, mentions: "truncated")
    }
}
