import Foundation
import XCTest
import BundleCodecs
import BundleFormat

final class CodecTests: XCTestCase {
    /// Text-like data that compresses, plus a random tail that does not.
    func sample(_ n: Int) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        let words = ["alpha", "beta", "gamma", "delta", "epsilon", " ", "\n"].map { Array($0.utf8) }
        var out: [UInt8] = []
        while out.count < n * 3 / 4 { out += words[Int.random(in: 0..<words.count, using: &rng)] }
        while out.count < n { out.append(UInt8.random(in: 0...255, using: &rng)) }
        return Array(out.prefix(n))
    }

    func testRoundTripEveryCodecAndSeveralLevels() throws {
        let data = sample(300_000)
        let cases: [(Codec, [Int])] = [(.none, [0]), (.zstd, [1, 3, 19, 22]), (.xz, [0, 6, 9]), (.zlib, [1, 9])]
        for (codec, levels) in cases {
            for level in levels {
                let c = try Codecs.compress(data, codec: codec, level: level)
                XCTAssertEqual(try Codecs.decompress(c, codec: codec, maxOutput: data.count), data, "\(codec.name) \(level)")
                if codec != .none { XCTAssertLessThan(c.count, data.count, "\(codec.name) \(level) should compress") }
            }
        }
    }

    func testEmptyInput() throws {
        for codec in Codec.allCases {
            let c = try Codecs.compress([], codec: codec, level: codec.defaultLevel)
            XCTAssertEqual(try Codecs.decompress(c, codec: codec, maxOutput: 0), [])
        }
    }

    /// Tiny input and output buffers give the same bytes as one big call.
    func testStreamingWithTinyBuffers() throws {
        let data = sample(20_000)
        for codec in [Codec.zstd, .xz, .zlib] {
            let c = try Codecs.compress(data, codec: codec, level: codec.defaultLevel)
            for (inStep, outStep) in [(1, 7), (7, 1), (4096, 3)] {
                let d = try Decompressor(codec: codec)
                var out: [UInt8] = []
                var pos = 0
                var finished = false
                var buffer = [UInt8](repeating: 0, count: outStep)
                var idle = 0
                while !finished {
                    let end = min(pos + inStep, c.count)
                    let step = try c.withUnsafeBytes { inb in
                        try buffer.withUnsafeMutableBytes { outb in
                            try d.decode(UnsafeRawBufferPointer(rebasing: inb[pos..<end]), into: outb)
                        }
                    }
                    pos += step.consumed
                    out += buffer[0..<step.produced]
                    finished = step.finished
                    idle = (step.consumed == 0 && step.produced == 0) ? idle + 1 : 0
                    XCTAssertLessThan(idle, 3, "no progress"); if idle >= 3 { break }
                }
                XCTAssertEqual(out, data, "\(codec.name) in \(inStep) out \(outStep)")
            }
        }
    }

    func testTruncatedCorruptAndTrailingBytesAreErrors() throws {
        let data = sample(100_000)
        for codec in [Codec.zstd, .xz, .zlib] {
            let c = try Codecs.compress(data, codec: codec, level: codec.defaultLevel)
            XCTAssertThrowsError(try Codecs.decompress(Array(c.dropLast(10)), codec: codec, maxOutput: data.count), "\(codec.name) truncated")
            var bad = c
            bad[c.count / 2] ^= 0xFF
            bad[c.count / 2 + 1] ^= 0x55
            XCTAssertThrowsError(try Codecs.decompress(bad, codec: codec, maxOutput: data.count), "\(codec.name) corrupt")
            XCTAssertThrowsError(try Codecs.decompress(c + [1, 2, 3], codec: codec, maxOutput: data.count), "\(codec.name) trailing")
            XCTAssertThrowsError(try Codecs.decompress(c, codec: codec, maxOutput: data.count - 1), "\(codec.name) over maxOutput")
        }
    }

    func testLevelsOutsideTheRangeAreRefused() {
        XCTAssertThrowsError(try Compressor(codec: .zstd, level: 23))
        XCTAssertThrowsError(try Compressor(codec: .xz, level: 10))
        XCTAssertThrowsError(try Compressor(codec: .zlib, level: 0))
    }

    /// zstd level 22 normally picks a 128 MiB window; the encoder clamps it so the stub can decode.
    func testZstdMaxLevelStaysWithinTheDecoderWindow() throws {
        let data = sample(1 << 20)
        let c = try Codecs.compress(data, codec: .zstd, level: 22)
        XCTAssertEqual(try Codecs.decompress(c, codec: .zstd, maxOutput: data.count), data)
    }

    // MARK: Interoperability with the command-line tools and the decoders' memory limits.

    func run(_ tool: String, _ args: [String], input: [UInt8]) throws -> [UInt8] {
        let dir = NSTemporaryDirectory() + "codec-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(input).write(to: URL(fileURLWithPath: dir + "/in"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(tool) \(args.joined(separator: " ")) < '\(dir)/in' > '\(dir)/out'"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(tool) failed")
        return Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/out")))
    }

    func testInteroperatesWithZstdAndXzTools() throws {
        let data = sample(200_000)
        XCTAssertEqual(try Codecs.decompress(try run("zstd", ["-q", "-c", "-9"], input: data), codec: .zstd, maxOutput: data.count), data)
        XCTAssertEqual(try Codecs.decompress(try run("xz", ["-c", "-6"], input: data), codec: .xz, maxOutput: data.count), data)
        XCTAssertEqual(try run("zstd", ["-q", "-d", "-c"], input: try Codecs.compress(data, codec: .zstd, level: 19)), data)
        XCTAssertEqual(try run("xz", ["-d", "-c"], input: try Codecs.compress(data, codec: .xz, level: 9)), data)
    }

    func testZstdFrameWithHugeWindowIsRefused() throws {
        // --long=27 writes a frame header declaring a 128 MiB window.
        let data = sample(1 << 20)
        let c = try run("zstd", ["-q", "-c", "--long=27", "-19"], input: data)
        XCTAssertThrowsError(try Codecs.decompress(c, codec: .zstd, maxOutput: data.count)) { error in
            XCTAssertTrue("\(error)".contains("too much memory"), "\(error)")
        }
    }

    func testXzWithHugeDictionaryIsRefused() throws {
        // A 64 MiB dictionary needs ~65 MiB to decode: over the 32 MiB limit, whatever the data size.
        let data = sample(100_000)
        let c = try run("xz", ["-c", "--lzma2=preset=9,dict=64MiB"], input: data)
        XCTAssertThrowsError(try Codecs.decompress(c, codec: .xz, maxOutput: data.count)) { error in
            XCTAssertTrue("\(error)".contains("memory"), "\(error)")
        }
    }
}
