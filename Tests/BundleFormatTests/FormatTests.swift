import XCTest
import TestSupport
@testable import BundleFormat

/// Round trips and every rejection of the byte format (docs/format.md).
final class FormatTests: XCTestCase {
    // MARK: Fixtures

    let digestA = [UInt8](repeating: 0xAA, count: 32)
    let digestB = [UInt8](repeating: 0xBB, count: 32)

    func manifest() -> Manifest {
        Manifest(
            appName: "app", appVersion: "1.2.3", buildTime: 1_700_000_000, keyID: [1, 2, 3, 4, 5, 6, 7, 8],
            layers: [
                LayerRecord(
                    name: "native", codec: .zstd, offset: 0, compressedSize: 100, uncompressedSize: 300,
                    fileCount: 3, tableOffset: 0, tableLength: 90, digest: digestA,
                    frames: FrameFixture.tiling(storedSize: 100, decodedSize: 300, seed: 0xBB)),
                LayerRecord(
                    name: "py", codec: .none, offset: 100, compressedSize: 50, uncompressedSize: 50,
                    fileCount: 1, tableOffset: 90, tableLength: 60, digest: digestA,
                    frames: FrameFixture.tiling(storedSize: 50, decodedSize: 50, seed: 0xBB)),
            ],
            entries: [
                EntryRecord(
                    name: "app", isDefault: true, argv: ["{native}/bin", "--x"],
                    env: [.init(key: "HOME_X", value: "{native}")], layers: [0]),
                EntryRecord(
                    name: "py", isDefault: false, argv: ["{py}/python", "{{literal}}"], env: [], layers: [0, 1]),
            ])
    }

    func decodeManifest(_ bytes: [UInt8], layers: UInt64 = 150, tables: UInt64 = 150) throws -> Manifest {
        try bytes.withUnsafeBytes { try Manifest(decoding: $0, layersLength: layers, tablesLength: tables) }
    }

    func assertManifestRejected(
        _ m: Manifest, _ code: BundleError.Code, file: StaticString = #filePath, line: UInt = #line
    ) {
        assertBundleError(try decodeManifest(m.encoded()), code, file: file, line: line)
    }

    func files() -> [FileRecord] {
        [
            FileRecord(kind: .directory, mode: 0o755, size: 0, path: Array("bin".utf8)),
            FileRecord(kind: .regular, mode: 0o755, size: 200, path: Array("bin/tool".utf8), digest: digestA),
            FileRecord(
                kind: .symlink, mode: 0o755, size: 0, path: Array("bin/link".utf8), linkTarget: Array("tool".utf8)),
            FileRecord(kind: .regular, mode: 0o644, size: 100, path: Array("readme".utf8), digest: digestA),
        ].sorted { $0.path.lexicographicallyPrecedes($1.path) }
    }

    func layer(for records: [FileRecord]) -> LayerRecord {
        let size = records.reduce(0) { $0 + $1.size }
        let stored: UInt64 = size == 0 ? 0 : 1
        return LayerRecord(
            name: "l", codec: .zstd, offset: 0, compressedSize: stored, uncompressedSize: size,
            fileCount: records.count, tableOffset: 0, tableLength: 0, digest: digestA,
            frames: size <= Limits.maxFrameSize
                ? FrameFixture.tiling(storedSize: stored, decodedSize: size, seed: 0xBB) : [])
    }

    func decodeTable(_ records: [FileRecord], layer: LayerRecord? = nil) throws -> [FileRecord] {
        try FileTable.encode(records).withUnsafeBytes {
            try FileTable.decode($0, layer: layer ?? self.layer(for: records))
        }
    }

    func assertTableRejected(
        _ records: [FileRecord], _ code: BundleError.Code, layer: LayerRecord? = nil, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        assertBundleError(try decodeTable(records, layer: layer), code, file: file, line: line)
    }

    // MARK: Trailer

    func trailerBytes(size: UInt64 = 10_000) -> [UInt8] {
        Trailer(
            signed: true, layers: 1000..<5000, header: 5000..<6000, tables: 6000..<9830,
            signature: 9830..<(size - 96)
        ).encoded()
    }

    func decodeTrailer(_ b: [UInt8], size: UInt64 = 10_000) throws -> Trailer {
        try b.withUnsafeBytes { try Trailer(decoding: $0, fileSize: size) }
    }

    func testTrailerRoundTrip() throws {
        let t = try decodeTrailer(trailerBytes())
        XCTAssertEqual(t.layers, 1000..<5000)
        XCTAssertEqual(t.signature, 9830..<9904)
        XCTAssertTrue(t.isSigned)
        XCTAssertEqual(t.stubLength, 1000)
        XCTAssertEqual(t.encoded(), trailerBytes())
    }

    func testTrailerRejections() {
        func mutate(_ at: Int, _ value: UInt8) -> [UInt8] { var b = trailerBytes(); b[at] = value; return b }
        func put64(_ at: Int, _ v: UInt64) -> [UInt8] {
            var b = trailerBytes()
            for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
            return b
        }
        let cases: [([UInt8], String)] = [
            (mutate(0, 0x58), "magic"),
            (mutate(8, 1), "version 1 (before layer data digests)"),
            (mutate(8, 2), "version 2 (before frames)"),
            (mutate(8, 4), "version 4"),
            (mutate(12, 0x03), "unknown flags"),
            (mutate(90, 1), "reserved"),
            (put64(16, UInt64.max), "outside the file"),
            (put64(24, UInt64.max - 10), "outside the file"),
            (put64(40, 2000), "overlap or leave gaps"),
            (put64(40, 9000), "outside the file"),
            (put64(24, 3999), "overlap or leave gaps"),
            (mutate(12, 0), "unsigned bundle with a signature block"),
        ]
        for (bytes, what) in cases {
            XCTAssertThrowsError(try decodeTrailer(bytes), what) {
                XCTAssertEqual(($0 as? BundleError)?.code, .badTrailer, "\(what): \($0)")
            }
        }
        XCTAssertThrowsError(try decodeTrailer(trailerBytes(), size: 50))
        let empty = Trailer(signed: false, layers: 0..<10, header: 10..<10, tables: 10..<20, signature: 20..<20)
            .encoded()
        XCTAssertThrowsError(try decodeTrailer(empty, size: 116)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badTrailer, "\($0)")
        }
        let huge = Trailer(
            signed: false, layers: 0..<0, header: 0..<(5 << 20), tables: (5 << 20)..<(5 << 20),
            signature: (5 << 20)..<(5 << 20)
        ).encoded()
        XCTAssertThrowsError(try decodeTrailer(huge, size: (5 << 20) + 96)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badTrailer, "\($0)")
        }
        let signedNoSig = Trailer(signed: true, layers: 0..<10, header: 10..<20, tables: 20..<30, signature: 30..<30)
            .encoded()
        XCTAssertThrowsError(try decodeTrailer(signedNoSig, size: 126)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badTrailer, "\($0)")
        }
        let bigSig = Trailer(signed: true, layers: 0..<10, header: 10..<20, tables: 20..<30, signature: 30..<5000)
            .encoded()
        XCTAssertThrowsError(try decodeTrailer(bigSig, size: 5096)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badTrailer, "\($0)")
        }
        for n in 0..<Trailer.size {
            XCTAssertThrowsError(try decodeTrailer(Array(trailerBytes().prefix(n))), "prefix \(n)")
        }
    }

    // MARK: Manifest

    func testManifestRoundTrip() throws {
        let m = manifest()
        XCTAssertEqual(try decodeManifest(m.encoded()), m)
        XCTAssertEqual(try decodeManifest(m.encoded()).defaultEntry?.name, "app")
    }

    func testManifestTruncatedAtEveryByteOrWithTrailingBytes() {
        let b = manifest().encoded()
        for n in 0..<b.count { XCTAssertThrowsError(try decodeManifest(Array(b.prefix(n))), "prefix \(n)") }
        XCTAssertThrowsError(try decodeManifest(b + [0])) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badManifest, "\($0)")
        }
        // After the entries only a target name may follow (docs/format.md).
        XCTAssertThrowsError(try decodeManifest(b + [0, 0, 0, 0])) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badManifest, "\($0)")
            XCTAssertTrue("\($0)".contains("unknown target"), "\($0)")
        }
    }

    func testManifestRejections() {
        var m = manifest(); m.appName = "bad name"; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].name = "native"; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].name = "../x"; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[1].name = "app"; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[1].name = ""; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].offset = 101; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].offset = 99; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].tableOffset = 80; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].compressedSize = 40; m.layers[1].uncompressedSize = 40;
        assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[1].tableLength = 50; assertManifestRejected(m, .badManifest)
        m = manifest(); m.layers[0].uncompressedSize = Limits.maxLayerSize + 1; assertManifestRejected(m, .tooLarge)
        m = manifest(); m.layers[0].fileCount = Limits.maxFilesPerLayer + 1; assertManifestRejected(m, .tooLarge)
        m = manifest(); m.layers[1].uncompressedSize = 51; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[1].isDefault = true; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[0].argv = []; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[1].layers = [1, 0]; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[1].layers = [0, 2]; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[0].argv = ["{py}/x"]; assertManifestRejected(m, .badManifest)
        m = manifest(); m.entries[0].argv = ["{native"]; assertManifestRejected(m, .badPlaceholder)
        m = manifest(); m.entries[0].env = [.init(key: "1BAD", value: "x")]; assertManifestRejected(m, .badManifest)

        var b = manifest().encoded()
        let codecAt = 4 + 3 + 4 + 5 + 8 + 8 + 4 + 4 + 6  // name, version, time, key id, count, layer name
        b[codecAt] = 9
        XCTAssertThrowsError(try decodeManifest(b)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badManifest, "\($0)")
        }
    }

    func testHugeCountsFailFastWithoutAllocating() {
        var w = ByteWriter()
        w.string("app"); w.string("1"); w.u64(0); w.raw([UInt8](repeating: 0, count: 8))
        w.u32(0xFFFF_FFFF)
        XCTAssertThrowsError(try decodeManifest(w.bytes)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .tooLarge, "\($0)")
        }
        var e = ByteWriter()
        e.string("app"); e.string("1"); e.u64(0); e.raw([UInt8](repeating: 0, count: 8)); e.u32(0)
        e.u32(1); e.string("x"); e.u8(0); e.u32(0xFFFF_FFFF)
        XCTAssertThrowsError(try decodeManifest(e.bytes, layers: 0, tables: 0)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .tooLarge, "\($0)")
        }
        var s = ByteWriter()
        s.u32(0xFFFF_FFF0)
        XCTAssertThrowsError(try decodeManifest(s.bytes)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .tooLarge, "\($0)")
        }
    }

    func testStringsMustBeValidUTF8WithoutNUL() {
        for bad: [UInt8] in [[0x61, 0xFF], [0x61, 0x00, 0x62], [0xC3]] {
            var w = ByteWriter()
            w.string(bad)
            XCTAssertThrowsError(try decodeManifest(w.bytes + manifest().encoded().dropFirst(7))) {
                XCTAssertEqual(($0 as? BundleError)?.code, .badManifest, "\($0)")
            }
        }
    }

    // MARK: File table

    func testFileTableRoundTrip() throws {
        XCTAssertEqual(try decodeTable(files()), files())
    }

    func testFileTableTruncatedAtEveryByte() {
        let b = FileTable.encode(files())
        for n in 0..<b.count {
            XCTAssertThrowsError(
                try Array(b.prefix(n)).withUnsafeBytes { try FileTable.decode($0, layer: layer(for: files())) },
                "prefix \(n)")
        }
    }

    func testFileTableRejections() {
        let f = files()
        var l = layer(for: f); l.fileCount = 5; assertTableRejected(f, .badFileTable, layer: l)
        l = layer(for: f); l.fileCount = 3; assertTableRejected(f, .badFileTable, layer: l)
        l = layer(for: f); l.uncompressedSize = 301; assertTableRejected(f, .badFileTable, layer: l)
        l = layer(for: f); l.uncompressedSize = 250; assertTableRejected(f, .badFileTable, layer: l)
        var bad = f; bad[0].mode = 0o4755; assertTableRejected(bad, .badFileTable)
        bad = f; bad[1].size = 5; assertTableRejected(bad, .badFileTable)  // the symlink
        bad = f; bad[0].size = 5; assertTableRejected(bad, .badFileTable)  // the directory
        bad = f; bad.swapAt(1, 2); assertTableRejected(bad, .badFileTable)
        bad = f; bad.insert(f[3], at: 3); assertTableRejected(bad, .badFileTable)
        bad = f; bad.remove(at: 0); assertTableRejected(bad, .badFileTable)
        bad = f; bad[0].kind = .regular; bad[0].digest = digestA; assertTableRejected(bad, .badFileTable)

        func one(_ path: String, kind: FileKind = .regular, target: String = "") -> [FileRecord] {
            [
                FileRecord(
                    kind: kind, mode: 0o644, size: 0, path: Array(path.utf8), digest: kind == .regular ? digestA : [],
                    linkTarget: Array(target.utf8))
            ]
        }
        for p in [
            "../x", "a/../b", "/abs", "a//b", "./a", "a/", "", ".", String(repeating: "a", count: 256), ".dgmo-layer",
        ] {
            assertTableRejected(one(p), .badPath)
        }
        XCTAssertThrowsError(
            try decodeTable([FileRecord(kind: .regular, mode: 0, size: 0, path: [0x61, 0x00], digest: digestA)]))
        XCTAssertThrowsError(
            try decodeTable([FileRecord(kind: .regular, mode: 0, size: 0, path: [0x61, 0xFF], digest: digestA)]))
        let long = [
            FileRecord(
                kind: .regular, mode: 0, size: 0, path: Array(repeating: 0x61, count: Limits.maxPathLength + 1),
                digest: digestA)
        ]
        XCTAssertThrowsError(try decodeTable(long))
        for target in ["../x", "/etc/passwd", "b/../x", "../../x"] {
            assertTableRejected(one("l", kind: .symlink, target: target), .badPath)
        }
        var b = FileTable.encode(one("x"))
        b[0] = 7
        XCTAssertThrowsError(try b.withUnsafeBytes { try FileTable.decode($0, layer: layer(for: one("x"))) }) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badFileTable, "\($0)")
        }
    }

    func testNestedMarkerNameAndInLayerLinksAreFine() throws {
        let records = [
            FileRecord(kind: .directory, mode: 0o755, size: 0, path: Array("a".utf8)),
            FileRecord(kind: .regular, mode: 0o644, size: 0, path: Array("a/.dgmo-layer".utf8), digest: digestA),
            FileRecord(
                kind: .symlink, mode: 0o755, size: 0, path: Array("a/up".utf8), linkTarget: Array("../a/./x".utf8)),
        ]
        XCTAssertEqual(try decodeTable(records).count, 3)
    }

    // MARK: Signature block, key slot

    func testSignatureBlockAndKeySlot() throws {
        let s = SignatureBlock(keyID: [UInt8](repeating: 1, count: 8), signature: [UInt8](repeating: 2, count: 64))
        XCTAssertEqual(try s.encoded().withUnsafeBytes { try SignatureBlock(decoding: $0) }, s)
        var bad = s.encoded(); bad[1] = 0x64
        XCTAssertThrowsError(try bad.withUnsafeBytes { try SignatureBlock(decoding: $0) })
        XCTAssertThrowsError(try Array(s.encoded().dropLast()).withUnsafeBytes { try SignatureBlock(decoding: $0) })

        let key = [0x45, 0x64] + [UInt8](repeating: 9, count: 40)
        for slot in [KeySlot.empty, .unsigned, .pinned(keyBytes: key)] {
            XCTAssertEqual(try slot.encoded().withUnsafeBytes { try KeySlot(decoding: $0) }, slot)
            XCTAssertEqual(slot.encoded().count, KeySlot.size)
        }
        XCTAssertEqual(String(decoding: KeySlot.marker, as: UTF8.self), "DGMO-BUNDLE-KEY-SLOT-V1-7f3c9ae1")
        var unknown = KeySlot.empty.encoded(); unknown[32] = 7
        XCTAssertThrowsError(try unknown.withUnsafeBytes { try KeySlot(decoding: $0) })
    }

    // MARK: Rules

    func testPlaceholders() throws {
        XCTAssertEqual(try Placeholders.names(in: "{a}/x/{b}{a}"), ["a", "b"])
        XCTAssertEqual(try Placeholders.substitute("{{x}} {a}", { $0 == "a" ? "/p" : nil }), "{x} /p")
        XCTAssertNil(try Placeholders.substitute("{zz}", { _ in nil }))
        for bad in ["{a", "{}", "a}b"] {
            XCTAssertThrowsError(try Placeholders.parse(bad)) {
                XCTAssertEqual(($0 as? BundleError)?.code, .badPlaceholder, bad)
            }
        }
    }

    func testNamesAndEnvironment() {
        for good in ["a", "dgmo", "my-app.x", "A_1"] { XCTAssertTrue(Names.isValid(good), good) }
        for bad in ["", "-a", ".a", "a b", "a/b", String(repeating: "a", count: 65), "ü"] {
            XCTAssertFalse(Names.isValid(bad), bad)
        }
        XCTAssertEqual(Names.environmentPrefix("my-app.x"), "MY_APP_X")
        XCTAssertTrue(Manifest.isValidEnvName("_A1"))
        XCTAssertFalse(Manifest.isValidEnvName("1A"))
        XCTAssertFalse(Manifest.isValidEnvName("A-B"))
    }
}
