import XCTest
import TestSupport
@testable import BundleFormat

/// The frame table of format version 3 (docs/format.md, "Frame table"): its encoding in the layer
/// record, and every rule `Manifest(decoding:)` enforces on it (`FrameTable.check`). Each refusal
/// names the layer and, where one frame breaks the rule, that frame.
final class FrameTableTests: XCTestCase {
    /// Layer 0 `base` (zstd): 3 frames, 100 stored and 1000 decoded bytes; layer 1 `py-3.12`
    /// (none): 1 frame of 50 bytes; layer 2 `empty_x`: no frame.
    let fx = Fx.manifest()

    func rejected(
        _ m: Manifest, _ code: BundleError.Code, _ needles: String..., file: StaticString = #filePath,
        line: UInt = #line
    ) {
        assertBundleError(try fx.decode(m.encoded()), code, mentioning: needles, file: file, line: line)
    }

    func rejected(
        _ r: Fx.RawManifest, _ code: BundleError.Code, _ needles: String..., file: StaticString = #filePath,
        line: UInt = #line
    ) {
        assertBundleError(try fx.decode(r.encoded()), code, mentioning: needles, file: file, line: line)
    }

    /// A one-layer manifest (`big`, `codec`) with exactly these frames; the layer's sizes and the
    /// region are what the frames add up to. Returns the bytes and the layers region's length.
    func oneLayer(_ frames: [FrameRecord], codec: Codec = .zstd) -> (Manifest, UInt64) {
        let stored = frames.reduce(0) { $0 + $1.storedSize }
        let decoded = frames.reduce(0) { $0 + $1.decodedSize }
        let layer = LayerRecord(
            name: "big", codec: codec, offset: 0, compressedSize: stored, uncompressedSize: decoded, fileCount: 1,
            tableOffset: 0, tableLength: 10, digest: Fx.digest(1), frames: frames)
        let m = Manifest(
            appName: "app", appVersion: "1", buildTime: 0, keyID: Fx.keyID, layers: [layer],
            entries: [EntryRecord(name: "app", isDefault: true, argv: ["{big}/run"], env: [], layers: [0])])
        return (m, stored)
    }

    func frame(_ storedOffset: UInt64, _ storedSize: UInt64, _ decodedOffset: UInt64, _ decodedSize: UInt64)
        -> FrameRecord
    {
        FrameRecord(
            storedOffset: storedOffset, storedSize: storedSize, decodedOffset: decodedOffset, decodedSize: decodedSize,
            digest: Fx.digest(0x33))
    }

    // MARK: Encoding

    func testEncodingIsTheCountThen56BytesPerFrame() throws {
        let frames = fx.manifest.layers[0].frames
        XCTAssertEqual(frames.count, 3)
        let f = FrameRecord(
            storedOffset: 0x0102_0304_0506_0708, storedSize: 0x1122_3344, decodedOffset: 0x2122_2324_2526_2728,
            decodedSize: 0x3132_3334, digest: Fx.digest(0xA0))
        let bytes = FrameTable.encoded([f])
        XCTAssertEqual(FrameRecord.encodedSize, 56)
        XCTAssertEqual(bytes.count, 4 + 56)
        XCTAssertEqual(Array(bytes[0..<4]), [1, 0, 0, 0])
        XCTAssertEqual(Array(bytes[4..<12]), [8, 7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(Array(bytes[12..<16]), [0x44, 0x33, 0x22, 0x11])
        XCTAssertEqual(Array(bytes[16..<24]), [0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21])
        XCTAssertEqual(Array(bytes[24..<28]), [0x34, 0x33, 0x32, 0x31])
        XCTAssertEqual(Array(bytes[28..<60]), Fx.digest(0xA0))
        XCTAssertEqual(FrameTable.encoded([]), [0, 0, 0, 0])
        var r = ByteReader(bytes, what: "manifest", code: .badManifest)
        XCTAssertEqual(try FrameTable.decode(&r, layerName: "x"), [f])
        XCTAssertTrue(r.isAtEnd)
        // In the manifest the table follows the layer's table digest, in place of version 2's
        // data digest.
        let manifest = fx.manifest.encoded()
        let table = FrameTable.encoded(frames)
        let at = try XCTUnwrap(firstIndex(of: fx.manifest.layers[0].digest + table, in: manifest))
        XCTAssertGreaterThan(at, 0)
        let decoded = try fx.decode(manifest)
        XCTAssertEqual(decoded.layers.map(\.frames), fx.manifest.layers.map(\.frames))
    }

    func testOneFrameAndManyFramesAreAccepted() throws {
        // One frame holding the whole layer.
        let (one, oneLength) = oneLayer([frame(0, 7, 0, 1000)])
        XCTAssertEqual(try Manifest(decoding: one.encoded(), layersLength: oneLength, tablesLength: 10), one)
        // 10,000 frames of 1 to 3 bytes each.
        var frames: [FrameRecord] = []
        var stored: UInt64 = 0
        var decoded: UInt64 = 0
        for i in 0..<10_000 {
            let s = UInt64(1 + i % 2)
            let d = UInt64(1 + i % 3)
            frames.append(frame(stored, s, decoded, d))
            stored += s
            decoded += d
        }
        let (many, manyLength) = oneLayer(frames)
        XCTAssertEqual(try Manifest(decoding: many.encoded(), layersLength: manyLength, tablesLength: 10), many)
        // Sizes at the limits: a frame of 16 MiB storing the most it may.
        let bound = FrameRecord.maxStoredSize(decodedSize: Limits.maxFrameSize)
        XCTAssertEqual(bound, Limits.maxFrameSize + Limits.maxFrameSize / 128 + 1024)
        let (largest, largestLength) = oneLayer([frame(0, bound, 0, Limits.maxFrameSize), frame(bound, 1, 1 << 24, 1)])
        XCTAssertEqual(
            try Manifest(decoding: largest.encoded(), layersLength: largestLength, tablesLength: 10), largest)
    }

    // MARK: Refusals

    func testOverlappingFramesAreRefused() {
        var m = fx.manifest
        m.layers[0].frames[1].storedOffset -= 1
        m.layers[0].frames[1].storedSize += 1
        rejected(m, .badManifest, "layer 'base' frame 1 overlaps the frame before it", "stored offset 33")
        m = fx.manifest
        m.layers[0].frames[2].decodedOffset -= 1
        m.layers[0].frames[2].decodedSize += 1
        rejected(m, .badManifest, "layer 'base' frame 2 overlaps the frame before it", "decoded offset 666")
        // A frame that starts where the one before it starts, and one repeated.
        m = fx.manifest
        m.layers[0].frames[1].storedOffset = 0
        m.layers[0].frames[1].decodedOffset = 0
        rejected(m, .badManifest, "layer 'base' frame 1 overlaps")
        m = fx.manifest
        m.layers[0].frames.insert(m.layers[0].frames[0], at: 1)
        rejected(m, .badManifest, "layer 'base' frame 1 overlaps")
        // Frames out of order.
        m = fx.manifest
        m.layers[0].frames.swapAt(1, 2)
        rejected(m, .badManifest, "layer 'base' frame 1 leaves a gap")
    }

    func testFramesLeavingGapsAreRefused() {
        var m = fx.manifest
        m.layers[0].frames[1].storedOffset += 1
        m.layers[0].frames[1].storedSize -= 1
        rejected(m, .badManifest, "layer 'base' frame 1 leaves a gap after the frame before it", "stored offset 35")
        m = fx.manifest
        m.layers[0].frames[2].decodedOffset += 5
        m.layers[0].frames[2].decodedSize -= 5
        rejected(m, .badManifest, "layer 'base' frame 2 leaves a gap", "decoded offset 672, expected 667")
        // The first frame must start at 0 in both streams.
        m = fx.manifest
        m.layers[1].frames[0].storedOffset = 1
        rejected(m, .badManifest, "layer 'py-3.12' frame 0 does not start at the layer's start", "stored offset 1")
        m = fx.manifest
        m.layers[0].frames[0].decodedOffset = 1
        rejected(m, .badManifest, "layer 'base' frame 0 does not start at the layer's start", "decoded offset 1")
        // A missing middle frame.
        m = fx.manifest
        m.layers[0].frames.remove(at: 1)
        rejected(m, .badManifest, "layer 'base' frame 1 leaves a gap")
    }

    func testFramesMustAddUpToTheLayer() {
        // More decoded or stored bytes than the layer declares, and fewer.
        var m = fx.manifest
        m.layers[0].frames[2].decodedSize += 1
        rejected(m, .badManifest, "layer 'base' frames hold 100 stored and 1001 decoded bytes", "declares 100 and 1000")
        m = fx.manifest
        m.layers[0].frames[2].decodedSize -= 1
        rejected(m, .badManifest, "layer 'base' frames hold 100 stored and 999 decoded bytes")
        m = fx.manifest
        m.layers[0].frames[2].storedSize += 1
        rejected(m, .badManifest, "layer 'base' frames hold 101 stored and 1000 decoded bytes")
        m = fx.manifest
        m.layers[0].frames[0].storedSize -= 1
        m.layers[0].frames[1].storedOffset -= 1
        m.layers[0].frames[2].storedOffset -= 1
        rejected(m, .badManifest, "layer 'base' frames hold 99 stored and 1000 decoded bytes")
        // A frame too many, a last frame missing.
        m = fx.manifest
        m.layers[0].frames.append(
            FrameRecord(storedOffset: 100, storedSize: 1, decodedOffset: 1000, decodedSize: 1, digest: Fx.digest(9)))
        rejected(m, .badManifest, "layer 'base' frames hold 101 stored and 1001 decoded bytes")
        m = fx.manifest
        m.layers[0].frames.removeLast()
        rejected(m, .badManifest, "layer 'base' frames hold 67 stored and 667 decoded bytes")
        // A layer with bytes but no frame; an empty layer with a frame.
        m = fx.manifest
        m.layers[0].frames = []
        rejected(m, .badManifest, "layer 'base' frames hold 0 stored and 0 decoded bytes")
        m = fx.manifest
        m.layers[2].frames = [
            FrameRecord(storedOffset: 0, storedSize: 1, decodedOffset: 0, decodedSize: 1, digest: Fx.digest(9))
        ]
        rejected(m, .badManifest, "layer 'empty_x' frames hold 1 stored and 1 decoded bytes", "declares 0 and 0")
    }

    func testEmptyFramesAreRefused() {
        // A frame of 0 decoded bytes between two others, at the end, alone; one storing 0 bytes.
        var m = fx.manifest
        m.layers[0].frames[2].decodedOffset = m.layers[0].frames[1].decodedOffset
        m.layers[0].frames[2].decodedSize += m.layers[0].frames[1].decodedSize
        m.layers[0].frames[1].decodedSize = 0
        rejected(m, .badManifest, "layer 'base' frame 1 declares 0 decoded bytes")
        m = fx.manifest
        m.layers[0].frames.append(
            FrameRecord(storedOffset: 100, storedSize: 0, decodedOffset: 1000, decodedSize: 0, digest: Fx.digest(9)))
        rejected(m, .badManifest, "layer 'base' frame 3 declares 0 decoded bytes")
        m = fx.manifest
        m.layers[2].frames = [
            FrameRecord(storedOffset: 0, storedSize: 0, decodedOffset: 0, decodedSize: 0, digest: Fx.digest(9))
        ]
        rejected(m, .badManifest, "layer 'empty_x' frame 0 declares 0 decoded bytes")
        m = fx.manifest
        m.layers[0].frames[2].storedOffset = m.layers[0].frames[1].storedOffset
        m.layers[0].frames[2].storedSize += m.layers[0].frames[1].storedSize
        m.layers[0].frames[1].storedSize = 0
        rejected(m, .badManifest, "layer 'base' frame 1 stores 0 bytes for 333 decoded ones")
    }

    func testFramesOverTheSizeLimitsAreRefused() {
        // 16 MiB + 1 decoded bytes in one frame (the layer adds up: only the frame's size is wrong).
        let over = Limits.maxFrameSize + 1
        var (m, length) = oneLayer([frame(0, 100, 0, over)])
        assertBundleError(
            try Manifest(decoding: m.encoded(), layersLength: length, tablesLength: 10), .badManifest,
            mentions: "layer 'big' frame 0 declares \(over) decoded bytes (1 to \(Limits.maxFrameSize) allowed)")
        (m, length) = oneLayer([frame(0, 5, 0, 5), frame(5, 100, 5, UInt64(UInt32.max))])
        assertBundleError(
            try Manifest(decoding: m.encoded(), layersLength: length, tablesLength: 10), .badManifest,
            mentions: "layer 'big' frame 1 declares \(UInt32.max) decoded bytes")
        // More stored bytes than any codec needs for the frame's decoded size.
        for decoded: UInt64 in [1, 1000, Limits.maxFrameSize] {
            let bound = FrameRecord.maxStoredSize(decodedSize: decoded)
            (m, length) = oneLayer([frame(0, bound, 0, decoded)])
            XCTAssertNoThrow(try Manifest(decoding: m.encoded(), layersLength: length, tablesLength: 10))
            (m, length) = oneLayer([frame(0, 3, 0, 3), frame(3, bound + 1, 3, decoded)])
            assertBundleError(
                try Manifest(decoding: m.encoded(), layersLength: length, tablesLength: 10), .badManifest,
                mentions: "layer 'big' frame 1 stores \(bound + 1) bytes for \(decoded) decoded ones")
        }
        (m, length) = oneLayer([frame(0, UInt64(UInt32.max), 0, 10)])
        assertBundleError(
            try Manifest(decoding: m.encoded(), layersLength: length, tablesLength: 10), .badManifest,
            mentions: "layer 'big' frame 0 stores \(UInt32.max) bytes")
    }

    func testUncompressedFramesKeepTheirSize() {
        // Codec none: each frame stores exactly its decoded bytes, even when the layer adds up.
        var m = fx.manifest
        m.layers[1].frames = [
            FrameRecord(storedOffset: 0, storedSize: 30, decodedOffset: 0, decodedSize: 20, digest: Fx.digest(1)),
            FrameRecord(storedOffset: 30, storedSize: 20, decodedOffset: 20, decodedSize: 30, digest: Fx.digest(2)),
        ]
        rejected(m, .badManifest, "uncompressed layer 'py-3.12' frame 0 has different stored and decoded sizes")
        m.layers[1].frames = [
            FrameRecord(storedOffset: 0, storedSize: 20, decodedOffset: 0, decodedSize: 20, digest: Fx.digest(1)),
            FrameRecord(storedOffset: 20, storedSize: 31, decodedOffset: 20, decodedSize: 30, digest: Fx.digest(2)),
        ]
        rejected(m, .badManifest, "uncompressed layer 'py-3.12' frame 1 has different stored and decoded sizes")
        m.layers[1].frames[1].storedSize = 30
        XCTAssertEqual(try fx.decode(m.encoded()), m)
    }

    func testFrameCountsOverTheLimitOrTheHeaderAreRefusedWithoutAllocating() {
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            var r = Fx.RawManifest(fx.manifest)
            r.layers[0].frameCount = UInt32(Limits.maxFramesPerLayer + 1)
            rejected(r, .tooLarge, "layer 'base' frame count is 65537, over the limit of 65536")
            r.layers[0].frameCount = .max
            rejected(r, .tooLarge, "layer 'base' frame count is \(UInt32.max)")
            // Within the limit, but more records than the rest of the header could hold.
            let rest = fx.manifest.encoded().count
            for count in [UInt32(Limits.maxFramesPerLayer), UInt32(rest / FrameRecord.encodedSize + 1)] {
                r = Fx.RawManifest(fx.manifest)
                r.layers[1].frameCount = count
                rejected(r, .truncated, "layer 'py-3.12' frame table is truncated")
            }
            // One record more than the bytes after the last layer's count (the entries) could hold.
            let bytes = fx.manifest.encoded()
            if let at = firstIndex(of: Fx.digest(0x30) + [0, 0, 0, 0], in: bytes) {
                let after = bytes.count - (at + 36)
                r = Fx.RawManifest(fx.manifest)
                r.layers[2].frameCount = UInt32(after / FrameRecord.encodedSize + 1)
                rejected(r, .truncated, "layer 'empty_x' frame table is truncated")
            } else {
                XCTFail("the empty layer's record is where it should be")
            }
        }
        XCTAssertLessThan(elapsed, .milliseconds(500), "took \(elapsed)")
    }

    /// A count that says fewer records than there are: the reader takes the rest as the next field
    /// and refuses the manifest, never silently.
    func testACountShortOfTheRecordsIsRefused() {
        var r = Fx.RawManifest(fx.manifest)
        r.layers[0].frameCount = 2
        assertThrowsBundleError(try fx.decode(r.encoded()))
        r.layers[0].frameCount = 0
        assertThrowsBundleError(try fx.decode(r.encoded()))
    }

    // MARK: Mutations

    /// 20,000 seeded mutations of the encoded frame tables inside a valid manifest (bit flips, bytes,
    /// fields set to values near the limits, counts, records repeated, dropped, swapped, split and
    /// merged, cuts and stray bytes): each either throws a `BundleError` or decodes to frames that
    /// tile every layer exactly, checked here independently of `FrameTable.check`, and re-encodes to
    /// the same bytes. Never a trap.
    func testMutatedFrameTablesEitherThrowOrTileTheLayer() throws {
        var random = SplitMix64.seeded(0x25_F4A3E, for: "frame table mutations")
        // Two layers with several frames each, one empty layer.
        var m = fx.manifest
        m.layers[0].frames = FrameFixture.tiling(storedSize: 100, decodedSize: 1000, count: 6)
        m.layers[1].frames = FrameFixture.tiling(storedSize: 50, decodedSize: 50, count: 4)
        let base = m.encoded()
        XCTAssertEqual(try fx.decode(base), m)
        let tables = m.layers.map { FrameTable.encoded($0.frames) }
        var starts: [Int] = []
        var from = 0
        for (layer, table) in zip(m.layers, tables) {
            let at = try XCTUnwrap(firstIndex(of: layer.digest + table, in: base, from: from)) + 32
            starts.append(at)
            from = at + table.count
        }
        var accepted = 0
        var refused: [BundleError.Code: Int] = [:]
        for round in 0..<20_000 {
            let which = Int(random.next() % 3)
            var table = tables[which]
            for _ in 0..<(1 + Int(random.next() % 3)) { mutate(&table, &random) }
            let bytes = Array(base[..<starts[which]]) + table + Array(base[(starts[which] + tables[which].count)...])
            do {
                let decoded = try fx.decode(bytes)
                accepted += 1
                for l in decoded.layers {
                    if let problem = FrameFixture.tilingProblem(
                        l.frames, storedSize: l.compressedSize, decodedSize: l.uncompressedSize, codec: l.codec)
                    {
                        XCTFail("round \(round): layer '\(l.name)' accepted with \(problem)")
                    }
                }
                XCTAssertEqual(decoded.encoded(), bytes, "round \(round): does not re-encode")
            } catch let error as BundleError {
                refused[error.code, default: 0] += 1
            } catch {
                XCTFail("round \(round): not a BundleError: \(error)")
            }
        }
        print("frame table mutations: \(accepted) accepted, refused \(refused)")
        XCTAssertGreaterThan(accepted, 100, "some mutations keep a valid table (splits, merges, moved boundaries)")
        XCTAssertGreaterThan(refused[.badManifest] ?? 0, 1000)
        XCTAssertGreaterThan(refused[.truncated] ?? 0, 0)
        XCTAssertGreaterThan(refused[.tooLarge] ?? 0, 0)
    }

    /// One mutation of an encoded frame table.
    func mutate(_ t: inout [UInt8], _ random: inout SplitMix64) {
        func u32(_ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(t[at + $1]) << (8 * UInt64($1)) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(t[at + $1]) << (8 * UInt64($1)) } }
        func put(_ v: UInt64, at: Int, width: Int) {
            for k in 0..<width where at + k < t.count { t[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        }
        let records = max(0, (t.count - 4) / 56)
        func field() -> (at: Int, width: Int)? {
            guard records > 0 else { return nil }
            let r = 4 + 56 * Int(random.next() % UInt64(records))
            switch random.next() % 4 {
            case 0: return (r, 8)  // stored offset
            case 1: return (r + 8, 4)  // stored size
            case 2: return (r + 12, 8)  // decoded offset
            default: return (r + 20, 4)  // decoded size
            }
        }
        switch random.next() % 12 {
        case 0 where !t.isEmpty:
            t[Int(random.next() % UInt64(t.count))] ^= UInt8(1) << (random.next() % 8)
        case 1 where !t.isEmpty:
            t[Int(random.next() % UInt64(t.count))] = UInt8(truncatingIfNeeded: random.next())
        case 2, 3:
            guard let (at, width) = field() else { return }
            let old = width == 8 ? u64(at) : u32(at)
            let interesting: [UInt64] = [
                0, 1, old &+ 1, old &- 1, old &+ 2, old / 2, old &* 2, Limits.maxFrameSize, Limits.maxFrameSize + 1,
                FrameRecord.maxStoredSize(decodedSize: old), FrameRecord.maxStoredSize(decodedSize: old) + 1,
                UInt64(UInt32.max), UInt64.max, random.next(),
            ]
            put(interesting[Int(random.next() % UInt64(interesting.count))], at: at, width: width)
        case 4:
            // The count.
            let old = t.count >= 4 ? u32(0) : 0
            let values: [UInt64] = [
                0, old &+ 1, old &- 1, UInt64(Limits.maxFramesPerLayer), UInt64(Limits.maxFramesPerLayer + 1),
                UInt64(UInt32.max), random.next() % 64,
            ]
            put(values[Int(random.next() % UInt64(values.count))], at: 0, width: 4)
        case 5 where records > 0:
            // A record repeated, with or without the count following.
            let r = 4 + 56 * Int(random.next() % UInt64(records))
            t.insert(contentsOf: t[r..<(r + 56)], at: r)
            if random.next() % 2 == 0 { put(UInt64(records + 1), at: 0, width: 4) }
        case 6 where records > 0:
            // A record dropped, with or without the count following.
            let r = 4 + 56 * Int(random.next() % UInt64(records))
            t.removeSubrange(r..<(r + 56))
            if random.next() % 2 == 0 { put(UInt64(records - 1), at: 0, width: 4) }
        case 7 where records > 1:
            // Two records swapped.
            let a = 4 + 56 * Int(random.next() % UInt64(records))
            let b = 4 + 56 * Int(random.next() % UInt64(records))
            let ra = Array(t[a..<(a + 56)])
            t.replaceSubrange(a..<(a + 56), with: t[b..<(b + 56)])
            t.replaceSubrange(b..<(b + 56), with: ra)
        case 8 where records > 0:
            // A frame split in two (still a valid tiling when both halves hold bytes).
            let i = Int(random.next() % UInt64(records))
            let r = 4 + 56 * i
            let (so, ss, dof, ds) = (u64(r), u32(r + 8), u64(r + 12), u32(r + 20))
            let s1 = ss / 2
            let d1 = ds / 2
            var second = Array(t[r..<(r + 56)])
            put(s1, at: r + 8, width: 4)
            put(d1, at: r + 20, width: 4)
            for k in 0..<8 { second[k] = UInt8(truncatingIfNeeded: (so &+ s1) >> (8 * UInt64(k))) }
            for k in 0..<4 { second[8 + k] = UInt8(truncatingIfNeeded: (ss &- s1) >> (8 * UInt64(k))) }
            for k in 0..<8 { second[12 + k] = UInt8(truncatingIfNeeded: (dof &+ d1) >> (8 * UInt64(k))) }
            for k in 0..<4 { second[20 + k] = UInt8(truncatingIfNeeded: (ds &- d1) >> (8 * UInt64(k))) }
            t.insert(contentsOf: second, at: r + 56)
            put(UInt64(records + 1), at: 0, width: 4)
        case 9 where records > 1:
            // Two neighbours merged (valid).
            let i = Int(random.next() % UInt64(records - 1))
            let r = 4 + 56 * i
            put(u32(r + 8) &+ u32(r + 64), at: r + 8, width: 4)
            put(u32(r + 20) &+ u32(r + 76), at: r + 20, width: 4)
            t.removeSubrange((r + 56)..<(r + 112))
            put(UInt64(records - 1), at: 0, width: 4)
        case 10 where records > 1:
            // A boundary moved by a few bytes in one stream or both (valid while no frame empties).
            let i = Int(random.next() % UInt64(records - 1))
            let r = 4 + 56 * i
            let delta = UInt64(1 + random.next() % 3)
            let grow = random.next() % 2 == 0
            for (size, offset) in [(r + 8, r + 56), (r + 20, r + 68)] where random.next() % 3 != 0 {
                put(grow ? u32(size) &+ delta : u32(size) &- delta, at: size, width: 4)
                put(grow ? u64(offset) &+ delta : u64(offset) &- delta, at: offset, width: 8)
                put(grow ? u32(offset + 8) &- delta : u32(offset + 8) &+ delta, at: offset + 8, width: 4)
            }
        default:
            // Cut, or stray bytes after the table.
            if random.next() % 2 == 0, !t.isEmpty {
                t.removeLast(1 + Int(random.next() % UInt64(min(t.count, 60))))
            } else {
                t += random.bytes(1 + Int(random.next() % 60))
            }
        }
    }

    func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int = 0) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = from
        while i + needle.count <= haystack.count {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
