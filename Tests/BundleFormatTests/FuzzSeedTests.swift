import Foundation
import XCTest
import TestSupport
@testable import BundleFormat

/// The fuzz target's seeds (Tests/FuzzCorpus/seeds, read by scripts/fuzz.sh): each is what this
/// test builds, byte for byte, in the current format, and reaches the end of its parser (the
/// trailer and the manifests decode, the frame table passes its checks), so a format change that
/// leaves them stale fails here instead of leaving the fuzzer to start from bytes every parser
/// refuses at once. `DGMO_WRITE_FUZZ_SEEDS=1 swift test --filter FuzzSeedTests` rewrites them.
///
/// Each seed's first byte selects the parser as Fuzz/FuzzFormat.swift does (modulo 9): 0 trailer,
/// 1 manifest (region lengths from its first two bytes), 2 file table, 3 path, 4 placeholder and
/// entry, 5 x86 filter, 6 manifest after its region lengths, 7 frame table alone, 8 key slot.
final class FuzzSeedTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus/seeds")

    /// A layer of `name` with `frames` (their sizes decide the layer's), at `offset`, table at
    /// `tableOffset` of `tableLength` bytes.
    static func layer(
        _ name: String, _ codec: Codec, filter: LayerFilter = .none, offset: UInt64, tableOffset: UInt64,
        tableLength: UInt64, frames: [FrameRecord]
    ) -> LayerRecord {
        LayerRecord(
            name: name, codec: codec, filter: filter, offset: offset,
            compressedSize: frames.reduce(0) { $0 + $1.storedSize },
            uncompressedSize: frames.reduce(0) { $0 + $1.decodedSize }, fileCount: 3, tableOffset: tableOffset,
            tableLength: tableLength, digest: Fx.digest(UInt8(name.utf8.count)), frames: frames)
    }

    /// Three layers: zstd+x86 in 3 frames, none in 2, an empty one; 70 stored bytes in all.
    static func layers(tablesLength: UInt64) -> [LayerRecord] {
        let a = layer(
            "native", .zstd, filter: .x86, offset: 0, tableOffset: 0, tableLength: tablesLength / 2,
            frames: FrameFixture.tiling(storedSize: 40, decodedSize: 3000, count: 3))
        let b = layer(
            "data", .none, offset: 40, tableOffset: tablesLength / 2, tableLength: tablesLength - tablesLength / 2,
            frames: FrameFixture.tiling(storedSize: 30, decodedSize: 30, count: 2, seed: 0x90))
        let c = layer("empty", .xz, offset: 70, tableOffset: tablesLength, tableLength: 0, frames: [])
        return [a, b, c]
    }

    static func entries() -> [EntryRecord] {
        [
            EntryRecord(
                name: "run", isDefault: true, argv: ["{native}/bin/run", "{{x}}"],
                env: [.init(key: "DATA", value: "{data}/share")], layers: [0, 1]),
            EntryRecord(name: "sh", isDefault: false, argv: ["/bin/sh", "{empty}/x"], env: [], layers: [2]),
        ]
    }

    /// The seeds by file name.
    static func seeds() -> [String: [UInt8]] {
        var seeds: [String: [UInt8]] = [:]

        // 0: a trailer of an unsigned 146-byte file (the file's size is the body's: its first byte is 0).
        let trailer = Trailer(signed: false, layers: 8..<20, header: 20..<40, tables: 40..<50, signature: 50..<50)
        seeds["trailer"] = [0] + [UInt8](repeating: 0, count: 50) + trailer.encoded()

        // 1: the region lengths are 7 × the body's first byte (the app name's length: 10, so 70)
        // and 13 × its second (0): layers of 70 stored bytes, no file table bytes.
        let m1 = Manifest(
            appName: "fuzz-seeds", appVersion: "3.0", buildTime: 1_700_000_000, keyID: Fx.keyID,
            layers: layers(tablesLength: 0), entries: entries())
        seeds["manifest"] = [1] + m1.encoded()

        // 6: region lengths first, then a manifest for linux-arm64 whose tables are not empty.
        let m6 = Manifest(
            appName: "frames", appVersion: "1", buildTime: 0, keyID: Fx.keyID, layers: layers(tablesLength: 90),
            entries: entries(), target: .linuxArm64)
        var w = ByteWriter()
        w.u8(6)
        w.u64(70)
        w.u64(90)
        seeds["manifest-frames"] = w.bytes + m6.encoded()

        // 7: a frame table alone after the layer's codec byte and sizes: 4 frames, 100 stored and
        // 40,000 decoded bytes.
        w = ByteWriter()
        w.u8(7)
        w.u8(Codec.zstd.rawValue)
        w.u64(100)
        w.u64(40_000)
        FrameTable.encode(FrameFixture.tiling(storedSize: 100, decodedSize: 40_000, count: 4), into: &w)
        seeds["frames"] = w.bytes

        // 5: the filter, pieces of 4 bytes, bytes with call and jmp opcodes.
        seeds["filter"] = [5, 3] + [0x55, 0xE8, 0x10, 0, 0, 0, 0x90, 0xE9, 0xF0, 0xFF, 0xFF, 0xFF, 0xC3, 0xE8, 1, 2]
        return seeds
    }

    /// The seeds from before format version 3, left as they were: a file table, a path and a
    /// placeholder (formats that did not change).
    static let unchanged = ["table", "path", "placeholder"]

    func testSeedsAreCurrentAndReachTheEndOfTheirParsers() throws {
        let seeds = FuzzSeedTests.seeds()
        if ProcessInfo.processInfo.environment["DGMO_WRITE_FUZZ_SEEDS"] == "1" {
            for (name, bytes) in seeds {
                try Data(bytes).write(to: FuzzSeedTests.directory.appendingPathComponent(name))
            }
        }
        let present = try FileManager.default.contentsOfDirectory(atPath: FuzzSeedTests.directory.path)
        XCTAssertEqual(Set(present), Set(seeds.keys).union(FuzzSeedTests.unchanged), "the seed files")
        for (name, bytes) in seeds {
            let committed = try? [UInt8](Data(contentsOf: FuzzSeedTests.directory.appendingPathComponent(name)))
            XCTAssertTrue(committed == bytes, "\(name) is stale: DGMO_WRITE_FUZZ_SEEDS=1 rewrites it")
        }

        // Each reaches the end of its parser, decoded the way the fuzz target decodes it.
        let t = try XCTUnwrap(seeds["trailer"])
        XCTAssertEqual(t[0] % 9, 0)
        let body = Array(t.dropFirst())
        XCTAssertEqual(body[0], 0)
        XCTAssertEqual(
            try Trailer(decoding: Array(body.suffix(Trailer.size)), fileSize: UInt64(body.count)).version,
            Trailer.currentVersion)

        let m = try XCTUnwrap(seeds["manifest"])
        XCTAssertEqual(m[0] % 9, 1)
        let mBody = Array(m.dropFirst())
        let decoded = try Manifest(
            decoding: mBody, layersLength: UInt64(mBody[0]) * 7, tablesLength: UInt64(mBody[1]) * 13)
        XCTAssertEqual(decoded.layers.map(\.frames.count), [3, 2, 0])

        let f = try XCTUnwrap(seeds["manifest-frames"])
        XCTAssertEqual(f[0] % 9, 6)
        var r = ByteReader(Array(f.dropFirst()), what: "seed", code: .badManifest)
        let layersLength = try r.u64()
        let tablesLength = try r.u64()
        let m6 = try Manifest(decoding: Array(f.dropFirst(17)), layersLength: layersLength, tablesLength: tablesLength)
        XCTAssertEqual(m6.target, .linuxArm64)
        XCTAssertEqual(m6.layers.map(\.frames.count), [3, 2, 0])

        let ft = try XCTUnwrap(seeds["frames"])
        XCTAssertEqual(ft[0] % 9, 7)
        r = ByteReader(Array(ft.dropFirst()), what: "seed", code: .badManifest)
        let codec = try XCTUnwrap(Codec(rawValue: try r.u8()))
        let compressed = try r.u64()
        let uncompressed = try r.u64()
        let frames = try FrameTable.decode(&r, layerName: "f")
        XCTAssertTrue(r.isAtEnd)
        try FrameTable.check(
            frames, layerName: "f", codec: codec, compressedSize: compressed, uncompressedSize: uncompressed)
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(try XCTUnwrap(seeds["filter"])[0] % 9, 5)
    }
}
