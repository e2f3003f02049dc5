import Foundation
import XCTest
import BundleCodecs
import BundleFormat
import CZstd
import CLZMA
import CZlib
import TestSupport

final class CodecTests: XCTestCase {
    /// Text-like data that compresses, plus a pseudo-random tail that does not; the same bytes for
    /// the same `seed` (printed, once per call: each test calls it once).
    func sample(_ n: Int, seed: UInt64 = 0xC0DEC) -> [UInt8] {
        var rng = SplitMix64.seeded(seed, for: name)
        let words = ["alpha", "beta", "gamma", "delta", "epsilon", " ", "\n"].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(n + 16)
        while out.count < n * 3 / 4 { out += words[Int.random(in: 0..<words.count, using: &rng)] }
        while out.count < n { out.append(UInt8.random(in: 0...255, using: &rng)) }
        return Array(out.prefix(n))
    }

    /// Compresses through the streaming API in `chunk`-sized pieces (so the encoder does not
    /// know the total size, as in the builder).
    func streamCompress(_ data: [UInt8], codec: Codec, level: Int, chunk: Int) throws -> [UInt8] {
        let c = try Compressor(codec: codec, level: level)
        var out: [UInt8] = []
        try data.withUnsafeBytes { all in
            var pos = 0
            while pos < all.count {
                let end = min(pos + chunk, all.count)
                try c.compress(UnsafeRawBufferPointer(rebasing: all[pos..<end]), into: &out)
                pos = end
            }
        }
        try c.finish(into: &out)
        return out
    }

    /// Decodes with `inStep`-byte input slices and an `outStep`-byte output buffer, the way the
    /// launcher does, failing on a stall.
    func streamDecode(_ c: [UInt8], codec: Codec, inStep: Int, outStep: Int) throws -> [UInt8] {
        let d = try Decompressor(codec: codec)
        var out: [UInt8] = []
        var pos = 0
        var finished = false
        var buffer = [UInt8](repeating: 0, count: outStep)
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
            if step.consumed == 0 && step.produced == 0 && !finished {
                XCTFail("\(codec.name): no progress at \(pos) of \(c.count)"); break
            }
        }
        XCTAssertEqual(pos, c.count, "\(codec.name): whole stream consumed")
        return out
    }

    /// The window size a zstd frame header declares (RFC 8878, 3.1.1.1).
    func zstdWindowSize(_ frame: [UInt8]) -> UInt64? {
        guard frame.count >= 6, frame[0..<4] == [0x28, 0xB5, 0x2F, 0xFD] else { return nil }
        let fhd = frame[4]
        let singleSegment = fhd & 0x20 != 0
        if !singleSegment {
            let wd = frame[5]
            let windowLog = 10 + UInt64(wd >> 3)
            let base: UInt64 = 1 << windowLog
            return base + (base / 8) * UInt64(wd & 7)
        }
        // Single segment: the window is the content size.
        let didSize = [0, 1, 2, 4][Int(fhd & 3)]
        let fcsSize = [1, 2, 4, 8][Int(fhd >> 6)]
        let start = 5 + didSize
        guard frame.count >= start + fcsSize else { return nil }
        var v: UInt64 = 0
        for i in 0..<fcsSize { v |= UInt64(frame[start + i]) << (8 * UInt64(i)) }
        return fcsSize == 2 ? v + 256 : v
    }

    // MARK: Round trips

    func testRoundTripEveryCodecAndSeveralLevels() throws {
        let data = sample(300_000)
        let cases: [(Codec, [Int])] = [
            (.none, [0]), (.zstd, [1, 3, 9, 19, 20, 22]), (.xz, [0, 1, 6, 9]), (.zlib, [1, 6, 9]),
        ]
        for (codec, levels) in cases {
            for level in levels {
                let c = try Codecs.compress(data, codec: codec, level: level)
                XCTAssertEqual(
                    try Codecs.decompress(c, codec: codec, maxOutput: data.count), data, "\(codec.name) \(level)")
                if codec != .none { XCTAssertLessThan(c.count, data.count, "\(codec.name) \(level) should compress") }
                let s = try streamCompress(data, codec: codec, level: level, chunk: 65_537)
                XCTAssertEqual(
                    try Codecs.decompress(s, codec: codec, maxOutput: data.count), data,
                    "\(codec.name) \(level) streamed")
            }
        }
    }

    func testCompressingOneByteAtATime() throws {
        let data = sample(5_000)
        for codec in Codec.allCases {
            let c = try streamCompress(data, codec: codec, level: codec.defaultLevel, chunk: 1)
            XCTAssertEqual(try Codecs.decompress(c, codec: codec, maxOutput: data.count), data, codec.name)
        }
    }

    func testEmptyInput() throws {
        for codec in Codec.allCases {
            let c = try Codecs.compress([], codec: codec, level: codec.defaultLevel)
            XCTAssertEqual(try Codecs.decompress(c, codec: codec, maxOutput: 0), [], codec.name)
            let s = try streamCompress([], codec: codec, level: codec.defaultLevel, chunk: 1)
            XCTAssertEqual(try Codecs.decompress(s, codec: codec, maxOutput: 0), [], codec.name)
        }
    }

    /// An empty input with nothing pending makes no progress and is not finished: the caller's
    /// truncation signal. It must return at once, repeatedly, without throwing.
    func testEmptyDecodeCallsReturnNoProgress() throws {
        var out = [UInt8](repeating: 0, count: 16)
        for codec in Codec.allCases {
            let d = try Decompressor(codec: codec)
            for _ in 0..<3 {
                let step = try out.withUnsafeMutableBytes { o in
                    try d.decode(UnsafeRawBufferPointer(start: nil, count: 0), into: o)
                }
                XCTAssertEqual(step.consumed, 0, codec.name)
                XCTAssertEqual(step.produced, 0, codec.name)
                XCTAssertFalse(step.finished, codec.name)
            }
        }
    }

    /// Tiny input and output buffers give the same bytes as one big call.
    func testStreamingWithTinyBuffers() throws {
        let data = sample(20_000)
        for codec in [Codec.zstd, .xz, .zlib] {
            let c = try Codecs.compress(data, codec: codec, level: codec.defaultLevel)
            for (inStep, outStep) in [(1, 1), (1, 7), (7, 1), (7, 7), (4096, 3), (1 << 20, 1 << 20)] {
                XCTAssertEqual(
                    try streamDecode(c, codec: codec, inStep: inStep, outStep: outStep), data,
                    "\(codec.name) in \(inStep) out \(outStep)")
            }
        }
    }

    /// Once the stream has ended, bytes after it are not decoded (no second zstd frame).
    func testDecodeStopsAtTheEndOfTheStream() throws {
        let data = sample(10_000)
        for codec in [Codec.zstd, .xz, .zlib] {
            let one = try Codecs.compress(data, codec: codec, level: codec.defaultLevel)
            let twice = one + one
            let d = try Decompressor(codec: codec)
            var out = [UInt8](repeating: 0, count: data.count * 3)
            var consumed = 0
            var produced = 0
            var finished = false
            while !finished {
                let step = try twice.withUnsafeBytes { i in
                    try out.withUnsafeMutableBytes { o in
                        try d.decode(
                            UnsafeRawBufferPointer(rebasing: i[consumed...]),
                            into: UnsafeMutableRawBufferPointer(rebasing: o[produced...]))
                    }
                }
                consumed += step.consumed
                produced += step.produced
                finished = step.finished
                if step.consumed == 0 && step.produced == 0 && !finished { XCTFail("stall"); break }
            }
            XCTAssertEqual(consumed, one.count, codec.name)
            XCTAssertEqual(Array(out[0..<produced]), data, codec.name)
            let again = try twice.withUnsafeBytes { i in
                try out.withUnsafeMutableBytes { o in
                    try d.decode(UnsafeRawBufferPointer(rebasing: i[consumed...]), into: o)
                }
            }
            XCTAssertEqual(again.consumed, 0, codec.name)
            XCTAssertEqual(again.produced, 0, codec.name)
            XCTAssertTrue(again.finished, codec.name)
        }
    }

    func testNoneCodecCopiesAndNeverFinishes() throws {
        let d = try Decompressor(codec: .none)
        let input: [UInt8] = [1, 2, 3, 4, 5]
        var out = [UInt8](repeating: 0, count: 3)
        let step = try input.withUnsafeBytes { i in try out.withUnsafeMutableBytes { o in try d.decode(i, into: o) } }
        XCTAssertEqual(step.consumed, 3)
        XCTAssertEqual(step.produced, 3)
        XCTAssertFalse(step.finished)
        XCTAssertEqual(out, [1, 2, 3])
        XCTAssertEqual(try Codecs.decompress(input, codec: .none, maxOutput: 5), input)
        assertBundleError(try Codecs.decompress(input, codec: .none, maxOutput: 4), .tooLarge)
    }

    // MARK: Bad input

    func testTruncatedCorruptAndTrailingBytesAreErrors() throws {
        let data = sample(100_000)
        for codec in [Codec.zstd, .xz, .zlib] {
            let c = try Codecs.compress(data, codec: codec, level: codec.defaultLevel)
            for keep in [0, 1, 6, 20, c.count / 2, c.count - 10, c.count - 1] {
                XCTAssertThrowsError(
                    try Codecs.decompress(Array(c.prefix(keep)), codec: codec, maxOutput: data.count),
                    "\(codec.name) truncated to \(keep)")
            }
            assertBundleError(
                try Codecs.decompress(Array(c.dropLast()), codec: codec, maxOutput: data.count), .truncated,
                context: codec.name)

            var bad = c
            bad[c.count / 2] ^= 0xFF
            bad[c.count / 2 + 1] ^= 0x55
            // No output limit here: a flipped length can also make the output too long, but the
            // decoder (or its checksum) must catch the damage by itself.
            assertBundleError(
                try Codecs.decompress(bad, codec: codec, maxOutput: Int.max), .codec, context: "\(codec.name) corrupt")

            assertBundleError(
                try Codecs.decompress(c + [1, 2, 3], codec: codec, maxOutput: data.count), .codec,
                context: "\(codec.name) trailing")
            assertBundleError(
                try Codecs.decompress(c + [0], codec: codec, maxOutput: data.count), .codec,
                context: "\(codec.name) trailing zero")
            assertBundleError(
                try Codecs.decompress(c, codec: codec, maxOutput: data.count - 1), .tooLarge,
                context: "\(codec.name) over maxOutput")
            assertBundleError(
                try Codecs.decompress(c, codec: codec, maxOutput: 0), .tooLarge,
                context: "\(codec.name) over maxOutput 0")
            XCTAssertEqual(try Codecs.decompress(c, codec: codec, maxOutput: Int.max), data, "\(codec.name) no limit")
            assertBundleError(
                try Codecs.decompress(Array("not compressed at all".utf8), codec: codec, maxOutput: 100), .codec,
                context: "\(codec.name) garbage")
        }
    }

    /// The launcher's pattern: feed everything, then an empty input at EOF gives no progress.
    func testStreamingTruncationIsSeenAsNoProgress() throws {
        let data = sample(50_000)
        for codec in [Codec.zstd, .xz, .zlib] {
            let c = Array(try Codecs.compress(data, codec: codec, level: codec.defaultLevel).dropLast(4))
            let d = try Decompressor(codec: codec)
            var out = [UInt8](repeating: 0, count: 1 << 16)
            var pos = 0
            var last: (consumed: Int, produced: Int, finished: Bool) = (1, 1, false)
            var calls = 0
            while calls < 10_000 {
                calls += 1
                last = try c.withUnsafeBytes { i in
                    try out.withUnsafeMutableBytes { o in
                        try d.decode(UnsafeRawBufferPointer(rebasing: i[pos...]), into: o)
                    }
                }
                pos += last.consumed
                if last.finished || (last.consumed == 0 && last.produced == 0) { break }
            }
            XCTAssertEqual(pos, c.count, codec.name)
            XCTAssertFalse(last.finished, codec.name)
            XCTAssertEqual(last.consumed, 0, codec.name)
            XCTAssertEqual(last.produced, 0, codec.name)
        }
    }

    func testLevelsOutsideTheRangeAreRefused() {
        assertBundleError(try Compressor(codec: .zstd, level: 0), .usage)
        assertBundleError(try Compressor(codec: .zstd, level: 23), .usage)
        assertBundleError(try Compressor(codec: .xz, level: -1), .usage)
        assertBundleError(try Compressor(codec: .xz, level: 10), .usage)
        assertBundleError(try Compressor(codec: .zlib, level: 0), .usage)
        assertBundleError(try Compressor(codec: .zlib, level: 10), .usage)
        XCTAssertNoThrow(try Compressor(codec: .none, level: 42))
    }

    func testCompressorRefusesUseAfterFinish() throws {
        for codec in Codec.allCases {
            let c = try Compressor(codec: codec, level: codec.defaultLevel)
            var out: [UInt8] = []
            try c.finish(into: &out)
            assertBundleError(
                try [UInt8]([1]).withUnsafeBytes { try c.compress($0, into: &out) }, .usage, context: codec.name)
            assertBundleError(try c.finish(into: &out), .usage, context: codec.name)
        }
    }

    // MARK: Memory limits

    /// zstd levels 20-22 normally declare 32-128 MiB windows; the encoder clamps them to the
    /// launcher's 2^24, and levels up to 19 stay at 2^23 or less. Streamed input, so the encoder
    /// cannot shrink the window to the input size and the header shows the level's window.
    func testZstdWindowIsClampedAtEveryLevel() throws {
        let data = sample(256 << 10)
        for level in 1...22 {
            let c = try streamCompress(data, codec: .zstd, level: level, chunk: 100_000)
            let window = try XCTUnwrap(zstdWindowSize(c), "level \(level)")
            let limit = level >= 20 ? Limits.zstdMaxWindowLog : Limits.zstdEncoderWindowLog
            XCTAssertLessThanOrEqual(window, UInt64(1) << UInt64(limit), "level \(level)")
            XCTAssertEqual(try Codecs.decompress(c, codec: .zstd, maxOutput: data.count), data, "level \(level)")
        }
        XCTAssertEqual(
            zstdWindowSize(try streamCompress(data, codec: .zstd, level: 22, chunk: 100_000)),
            UInt64(1) << UInt64(Limits.zstdMaxWindowLog))
        XCTAssertEqual(
            zstdWindowSize(try streamCompress(data, codec: .zstd, level: 19, chunk: 100_000)),
            UInt64(1) << UInt64(Limits.zstdEncoderWindowLog))
    }

    func testZstdMaxLevelStaysWithinTheDecoderWindow() throws {
        let data = sample(1 << 20)
        let c = try Codecs.compress(data, codec: .zstd, level: 22)
        XCTAssertEqual(try Codecs.decompress(c, codec: .zstd, maxOutput: data.count), data)
        XCTAssertEqual(try run("zstd", ["-q", "-d", "-c", "--memory=16MB"], input: c), data)
    }

    /// A zstd frame made with the C API, declaring a window of 2^`windowLog` (unknown content
    /// size, so the header keeps the full window even for a small input).
    func zstdFrame(_ data: [UInt8], windowLog: Int32) throws -> [UInt8] {
        let ctx = try XCTUnwrap(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(ctx) }
        XCTAssertEqual(ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, 3)), 0)
        XCTAssertEqual(ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_windowLog, windowLog)), 0)
        XCTAssertEqual(ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 0)), 0)
        XCTAssertEqual(ZSTD_isError(ZSTD_CCtx_setParameter(ctx, ZSTD_c_enableLongDistanceMatching, 1)), 0)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count) + 1024)
        let written = data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst -> Int in
                var inb = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                var outb = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                // e_continue first: with e_end on the first call zstd would learn the size and shrink the window.
                _ = ZSTD_compressStream2(ctx, &outb, &inb, ZSTD_e_continue)
                while ZSTD_compressStream2(ctx, &outb, &inb, ZSTD_e_end) != 0 {}
                return outb.pos
            }
        }
        return Array(out[0..<written])
    }

    func testZstdFrameWithHugeWindowIsRefused() throws {
        let data = sample(100_000)
        let huge = try zstdFrame(data, windowLog: 27)
        XCTAssertEqual(zstdWindowSize(huge), 1 << 27)
        // The message names the limit.
        XCTAssertThrowsError(try Codecs.decompress(huge, codec: .zstd, maxOutput: data.count)) { error in
            XCTAssertEqual((error as? BundleError)?.code, .tooLarge)
            XCTAssertEqual("\(error)", "zstd: frame requires too much memory (window larger than 16 MiB)")
        }
        // Refused at the first decode call, before any output.
        let d = try Decompressor(codec: .zstd)
        var out = [UInt8](repeating: 0, count: 1 << 16)
        assertBundleError(
            try huge.withUnsafeBytes { i in try out.withUnsafeMutableBytes { o in try d.decode(i, into: o) } },
            .tooLarge)

        // The limit itself (2^24) is accepted.
        let atLimit = try zstdFrame(data, windowLog: Limits.zstdMaxWindowLog)
        XCTAssertEqual(zstdWindowSize(atLimit), 1 << 24)
        XCTAssertEqual(try Codecs.decompress(atLimit, codec: .zstd, maxOutput: data.count), data)
        let over = try zstdFrame(data, windowLog: Limits.zstdMaxWindowLog + 1)
        assertBundleError(try Codecs.decompress(over, codec: .zstd, maxOutput: data.count), .tooLarge)

        // The same from the CLI: --long=27 on stdin writes a 128 MiB window.
        let cli = try run("zstd", ["-q", "-c", "--long=27", "-19"], input: data)
        assertBundleError(try Codecs.decompress(cli, codec: .zstd, maxOutput: data.count), .tooLarge)
    }

    /// An xz stream with a preset 9 (64 MiB) dictionary, made with the C API.
    func xzPreset(_ data: [UInt8], preset: UInt32) throws -> [UInt8] {
        var strm = lzma_stream()
        clzma_stream_init(&strm)
        defer { lzma_end(&strm) }
        XCTAssertEqual(lzma_easy_encoder(&strm, preset, LZMA_CHECK_CRC64), LZMA_OK)
        var out = [UInt8](repeating: 0, count: data.count + data.count / 2 + 4096)
        let written = data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst -> Int in
                strm.next_in = src.baseAddress?.assumingMemoryBound(to: UInt8.self)
                strm.avail_in = src.count
                strm.next_out = dst.baseAddress?.assumingMemoryBound(to: UInt8.self)
                strm.avail_out = dst.count
                while lzma_code(&strm, LZMA_FINISH) == LZMA_OK {}
                return dst.count - strm.avail_out
            }
        }
        return Array(out[0..<written])
    }

    func testXzWithHugeDictionaryIsRefused() throws {
        // A 64 MiB dictionary needs ~65 MiB to decode: over the 32 MiB limit, whatever the data size.
        let data = sample(100_000)
        let huge = try xzPreset(data, preset: 9)
        // The message names the limit.
        XCTAssertThrowsError(try Codecs.decompress(huge, codec: .xz, maxOutput: data.count)) { error in
            XCTAssertEqual((error as? BundleError)?.code, .tooLarge)
            XCTAssertEqual("\(error)", "xz: stream requires too much memory (more than 32 MiB to decode)")
        }
        // Preset 6 (8 MiB) is fine.
        XCTAssertEqual(try Codecs.decompress(try xzPreset(data, preset: 6), codec: .xz, maxOutput: data.count), data)

        let cli = try run("xz", ["-c", "-9"], input: data)
        assertBundleError(try Codecs.decompress(cli, codec: .xz, maxOutput: data.count), .tooLarge)
    }

    /// Our xz level 9 is clamped to an 8 MiB dictionary, so it decodes within the limit
    /// (and the CLI with a memory limit of 10 MiB accepts it).
    func testXzLevel9IsClampedToTheMaxDictionary() throws {
        let data = sample(100_000)
        let c = try streamCompress(data, codec: .xz, level: 9, chunk: 10_000)
        XCTAssertEqual(try Codecs.decompress(c, codec: .xz, maxOutput: data.count), data)
        XCTAssertEqual(try run("xz", ["-d", "-c", "--memlimit=10MiB"], input: c), data)
    }

    // MARK: Interoperability with the command-line tools and the C libraries

    func run(_ tool: String, _ args: [String], input: [UInt8]) throws -> [UInt8] {
        let dir = try TempDir.make("codec")
        defer { TempDir.remove(dir) }
        try Data(input).write(to: URL(fileURLWithPath: dir + "/in"))
        let o = try ProcessRunner.run(
            "/bin/sh", ["-c", "\(tool) \(args.joined(separator: " ")) < '\(dir)/in' > '\(dir)/out'"])
        XCTAssertEqual(o.status, 0, "\(tool) \(args) failed: \(o.stderr)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/out")))
    }

    func testInteroperatesWithZstdAndXzTools() throws {
        let data = sample(200_000)
        for level in ["-1", "-9", "-19"] {
            XCTAssertEqual(
                try Codecs.decompress(
                    try run("zstd", ["-q", "-c", level], input: data), codec: .zstd, maxOutput: data.count), data)
        }
        for level in ["-0", "-6"] {
            XCTAssertEqual(
                try Codecs.decompress(try run("xz", ["-c", level], input: data), codec: .xz, maxOutput: data.count),
                data)
        }
        XCTAssertEqual(
            try run("zstd", ["-q", "-d", "-c"], input: try Codecs.compress(data, codec: .zstd, level: 19)), data)
        XCTAssertEqual(
            try run("zstd", ["-q", "-d", "-c"], input: try streamCompress(data, codec: .zstd, level: 3, chunk: 4096)),
            data)
        XCTAssertEqual(try run("xz", ["-d", "-c"], input: try Codecs.compress(data, codec: .xz, level: 9)), data)
        XCTAssertEqual(
            try run("xz", ["-d", "-c"], input: try streamCompress(data, codec: .xz, level: 1, chunk: 4096)), data)
        // Our streams carry integrity checks the tools verify: xz CRC64 (check ID 4 in the
        // stream flags), zstd content checksum (bit 2 of the frame header descriptor).
        XCTAssertEqual(try Codecs.compress(data, codec: .xz, level: 6)[7], 0x04)
        XCTAssertNotEqual(try Codecs.compress(data, codec: .zstd, level: 3)[4] & 0x04, 0)
    }

    func testInteroperatesWithZlib() throws {
        let data = sample(200_000)
        // zlib's compress2 (zlib format) decodes with ours.
        var bound = compressBound(uLong(data.count))
        var theirs = [UInt8](repeating: 0, count: Int(bound))
        XCTAssertEqual(compress2(&theirs, &bound, data, uLong(data.count), 9), Z_OK)
        theirs.removeSubrange(Int(bound)...)
        XCTAssertEqual(try Codecs.decompress(theirs, codec: .zlib, maxOutput: data.count), data)
        // Ours decodes with zlib's uncompress.
        let ours = try Codecs.compress(data, codec: .zlib, level: 6)
        var size = uLong(data.count)
        var back = [UInt8](repeating: 0, count: data.count)
        XCTAssertEqual(uncompress(&back, &size, ours, uLong(ours.count)), Z_OK)
        XCTAssertEqual(Int(size), data.count)
        XCTAssertEqual(back, data)
    }
}
