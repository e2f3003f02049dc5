import XCTest
import TestSupport
@testable import BundleFormat

final class ManifestTests: XCTestCase {
    let fx = Fx.manifest()
    var raw: Fx.RawManifest { Fx.RawManifest(fx.manifest) }

    /// Refused with `code`; `needles` are what the message must name (a layer, an entry, a number).
    func rejected(
        _ m: Manifest, _ code: BundleError.Code, _ needles: String..., layers: UInt64? = nil, tables: UInt64? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        expectRejected(m.encoded(), code, needles, layers: layers, tables: tables, file: file, line: line)
    }
    func rejected(
        _ r: Fx.RawManifest, _ code: BundleError.Code, _ needles: String..., layers: UInt64? = nil,
        tables: UInt64? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        expectRejected(r.encoded(), code, needles, layers: layers, tables: tables, file: file, line: line)
    }
    private func expectRejected(
        _ bytes: [UInt8], _ code: BundleError.Code, _ needles: [String], layers: UInt64?, tables: UInt64?,
        file: StaticString, line: UInt
    ) {
        assertBundleError(
            try Manifest(
                decoding: bytes, layersLength: layers ?? fx.layersLength, tablesLength: tables ?? fx.tablesLength),
            code, mentioning: needles, file: file, line: line)
    }

    /// Decoding must finish (by throwing) well within `limit` seconds.
    func assertFast(
        _ limit: Double = 0.5, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void
    ) {
        let clock = ContinuousClock()
        let elapsed = clock.measure { () -> Void in
            do { try body() } catch { XCTFail("unexpected \(error)", file: file, line: line) }
        }
        XCTAssertLessThan(elapsed, .milliseconds(Int(limit * 1000)), "took \(elapsed)", file: file, line: line)
    }

    // MARK: Round trips

    func testRoundTrip() throws {
        let m = fx.manifest
        let bytes = m.encoded()
        let decoded = try fx.decode(bytes)
        XCTAssertEqual(decoded, m)
        XCTAssertEqual(try fx.decodeRaw(bytes), m)
        XCTAssertEqual(decoded.encoded(), bytes)
        XCTAssertEqual(decoded.layers.count, 3)
        XCTAssertEqual(decoded.entries.count, 4)
        XCTAssertEqual(decoded.defaultEntry?.name, "app")
        XCTAssertEqual(decoded.layer(named: "py-3.12"), 1)
        XCTAssertNil(decoded.layer(named: "nope"))
        XCTAssertEqual(decoded.entry(named: "py")?.layers, [0, 1])
        XCTAssertEqual(
            decoded.entry(named: "app")?.env,
            [.init(key: "APP_HOME", value: "{base}"), .init(key: "_x9", value: "plain ü")])
        XCTAssertEqual(decoded.layers[1].codec, .none)
        XCTAssertEqual(decoded.layers[2].codec, .xz)
        XCTAssertEqual(decoded.keyID, Fx.keyID)
    }

    func testRawWriterMatchesEncoder() {
        XCTAssertEqual(raw.encoded(), fx.manifest.encoded())
    }

    func testEveryCodecRoundTrips() throws {
        for codec in Codec.allCases {
            var m = fx.manifest
            m.layers[0].codec = codec
            if codec == .none { m.layers[0] = Fx.uncompressed(m.layers[0]) }
            XCTAssertEqual(try fx.decode(m.encoded()), m, codec.name)
        }
    }

    func testEveryFilterRoundTripsInTheCodecByte() throws {
        for filter in LayerFilter.allCases {
            for codec in Codec.allCases {
                var m = fx.manifest
                m.layers[0].codec = codec
                m.layers[0].filter = filter
                if codec == .none { m.layers[0] = Fx.uncompressed(m.layers[0]) }
                let bytes = m.encoded()
                XCTAssertEqual(try fx.decode(bytes), m, "\(codec.name)+\(filter.name)")
            }
        }
        // The byte itself: codec | filter << 4, so a filter-less layer reads as before.
        var r = raw; r.layers[0].codec = Codec.zstd.rawValue | LayerFilter.x86.rawValue << 4
        var expected = fx.manifest; expected.layers[0].filter = .x86
        XCTAssertEqual(try fx.decode(r.encoded()), expected)
    }

    func testNoDefaultNoEntriesNoLayers() throws {
        var m = fx.manifest
        for i in m.entries.indices { m.entries[i].isDefault = false }
        XCTAssertNil(try fx.decode(m.encoded()).defaultEntry)
        m.entries[3].isDefault = true
        XCTAssertEqual(try fx.decode(m.encoded()).defaultEntry?.name, "all")

        let empty = Manifest(
            appName: "a", appVersion: "0", buildTime: 0, keyID: [UInt8](repeating: 0, count: 8), layers: [], entries: []
        )
        XCTAssertEqual(try Manifest(decoding: empty.encoded(), layersLength: 0, tablesLength: 0), empty)
        // With no layers, the regions must be empty.
        assertBundleError(try Manifest(decoding: empty.encoded(), layersLength: 1, tablesLength: 0), .badManifest)
        assertBundleError(try Manifest(decoding: empty.encoded(), layersLength: 0, tablesLength: 1), .badManifest)
    }

    func testLimitsExactlyAreAccepted() throws {
        // 256 layers and 256 entries, names of 64 bytes, an argv item of 64 KiB, 1024 argv items, every
        // layer with the most files; layer 0 is as large as a layer may be, in the most frames a layer
        // may have (65,536 frames of 1 MiB: 64 GiB), layer 1 is one frame of the largest decoded size
        // storing the most bytes a frame of that size may, the others one byte in one frame. All of it
        // within the largest header (4 MiB). (Before frames every layer here declared 64 GiB; with
        // frames of at most 16 MiB that is 4,096 frame records per layer, 58 MiB for 256 layers, which
        // no header can carry, so the frame limits are reached on two layers instead.)
        XCTAssertEqual(Limits.maxLayerSize / UInt64(Limits.maxFramesPerLayer), 1 << 20)
        var layers: [LayerRecord] = []
        var offset: UInt64 = 0
        for i in 0..<Limits.maxLayers {
            let frames: [FrameRecord]
            switch i {
            case 0:
                frames = FrameFixture.tiling(
                    storedSize: UInt64(Limits.maxFramesPerLayer), decodedSize: Limits.maxLayerSize,
                    count: Limits.maxFramesPerLayer)
            case 1:
                frames = [
                    FrameRecord(
                        storedOffset: 0, storedSize: FrameRecord.maxStoredSize(decodedSize: Limits.maxFrameSize),
                        decodedOffset: 0, decodedSize: Limits.maxFrameSize, digest: Fx.digest(9))
                ]
            default:
                frames = FrameFixture.tiling(storedSize: 1, decodedSize: 1, seed: UInt8(i % 256))
            }
            let stored = frames.reduce(0) { $0 + $1.storedSize }
            layers.append(
                LayerRecord(
                    name: "l\(i)", codec: .zstd, offset: offset, compressedSize: stored,
                    uncompressedSize: frames.reduce(0) { $0 + $1.decodedSize },
                    fileCount: Limits.maxFilesPerLayer, tableOffset: UInt64(i) * 2, tableLength: 2,
                    digest: Fx.digest(UInt8(i % 256)), frames: frames))
            offset += stored
        }
        XCTAssertEqual(layers[0].uncompressedSize, Limits.maxLayerSize)
        XCTAssertEqual(layers[0].frames.count, Limits.maxFramesPerLayer)
        layers[255].tableLength = Limits.maxFileTableLength
        var entries: [EntryRecord] = []
        for i in 0..<Limits.maxEntries {
            entries.append(
                EntryRecord(name: "e\(i)", isDefault: i == 7, argv: ["{l\(i)}/bin/run"], env: [], layers: [i]))
        }
        entries[0].argv = [String](repeating: "x", count: Limits.maxArgvItems)
        entries[1].argv = [String(repeating: "y", count: Limits.maxStringLength)]
        entries[2].env = (0..<Limits.maxEnvItems).map { .init(key: "K\($0)", value: "{l2}") }
        entries[3].layers = Array(0..<Limits.maxLayers)
        let name64 = String(repeating: "n", count: 64)
        let m = Manifest(
            appName: name64, appVersion: String(repeating: "v", count: 64), buildTime: .max, keyID: Fx.keyID,
            layers: layers, entries: entries)
        let bytes = m.encoded()
        XCTAssertLessThanOrEqual(UInt64(bytes.count), Limits.maxHeaderLength, "the header fits the limit")
        let tables = UInt64(255) * 2 + Limits.maxFileTableLength
        let decoded = try Manifest(decoding: bytes, layersLength: offset, tablesLength: tables)
        XCTAssertEqual(decoded, m)
    }

    // MARK: Truncation and trailing bytes

    func testTruncatedAtEveryByteOffset() {
        let b = fx.manifest.encoded()
        XCTAssertGreaterThan(b.count, 300)
        for n in 0..<b.count {
            let prefix = Array(b.prefix(n))
            assertBundleError(try fx.decode(prefix), .truncated, context: "prefix \(n) of \(b.count)")
            assertThrowsBundleError(try fx.decodeRaw(prefix), "prefix \(n)")
        }
    }

    func testTrailingBytes() {
        let b = fx.manifest.encoded()
        assertBundleError(try fx.decode(b + [0]), .badManifest, mentions: "1 unexpected bytes")
        assertBundleError(
            try fx.decode(b + [UInt8](repeating: 0xFF, count: 100)), .badManifest, mentions: "100 unexpected bytes")
        assertBundleError(try fx.decode(b + b), .badManifest)
    }

    // MARK: Names

    func testInvalidNames() {
        let bad = ["", "-a", ".a", "_a", "a b", "a/b", "a:b", "ü", String(repeating: "a", count: 65), "a\u{7F}"]
        for name in bad {
            var m = fx.manifest; m.appName = name
            rejected(m, name.utf8.count > 64 ? .tooLarge : .badManifest, "app name")
            m = fx.manifest; m.layers[1].name = name
            rejected(m, name.utf8.count > 64 ? .tooLarge : .badManifest)
            m = fx.manifest; m.entries[2].name = name
            rejected(m, name.utf8.count > 64 ? .tooLarge : .badManifest)
        }
        var m = fx.manifest; m.appName = String(repeating: "a", count: 65)
        rejected(m, .tooLarge, "app name is 65 bytes, over the limit of 64")
        m = fx.manifest; m.appVersion = String(repeating: "1", count: 65)
        rejected(m, .tooLarge, "app version is 65 bytes")
    }

    func testDuplicates() {
        var m = fx.manifest; m.layers[2].name = "base"
        rejected(m, .badManifest, "duplicate layer 'base'")
        m = fx.manifest; m.entries[3].name = "app"
        rejected(m, .badManifest, "duplicate entry 'app'")
        m = fx.manifest; m.entries[1].name = "tool.v2"
        rejected(m, .badManifest, "duplicate entry 'tool.v2'")
    }

    func testUnknownCodecFilterAndEntryFlags() {
        // Low four bits: codec; high four bits: filter.
        for byte: UInt8 in [4, 9, 0x0F, 0x14, 0x1F] {
            var r = raw; r.layers[1].codec = byte
            rejected(r, .badManifest, "layer 'py-3.12' has unknown codec \(byte & 0x0F)")
        }
        for byte: UInt8 in [0x30, 0x31, 0x80, 0xF1] {
            var r = raw; r.layers[1].codec = byte
            rejected(r, .badManifest, "layer 'py-3.12' has unknown filter \(byte >> 4)")
        }
        for flags: UInt8 in [2, 3, 0xFF] {
            var r = raw; r.entries[1].flags = flags
            rejected(r, .badManifest, "entry 'py' has unknown flags \(flags)")
        }
    }

    // MARK: Regions

    func testLayerOffsets() {
        var m = fx.manifest; m.layers[1].offset = 101  // gap
        rejected(m, .badManifest, "layer 'py-3.12' data")
        m = fx.manifest; m.layers[1].offset = 99  // overlap
        rejected(m, .badManifest)
        m = fx.manifest; m.layers[0].offset = 1  // first not at 0
        rejected(m, .badManifest, "layer 'base' data")
        m = fx.manifest; m.layers[2].offset = 0  // back to the start
        rejected(m, .badManifest, "layer 'empty_x' data")
        m = fx.manifest; m.layers[1].offset = .max  // would overflow offset + size
        rejected(m, .badManifest)
        // Layer data running past the region.
        m = fx.manifest; m.layers[2].compressedSize = 1
        rejected(m, .badManifest, "layer 'empty_x' data")
        m = fx.manifest; m.layers[0].compressedSize = .max
        rejected(m, .badManifest, "layer 'base' data")
        rejected(fx.manifest, .badManifest, "layer 'py-3.12' data", layers: 149)
        rejected(fx.manifest, .badManifest, "layer 'base' data", layers: 0)
    }

    func testLayersNotFillingRegion() {
        rejected(fx.manifest, .badManifest, layers: 151)
        rejected(fx.manifest, .badManifest, layers: .max)
        var m = fx.manifest; m.layers[2].compressedSize = 0
        m.layers.removeLast(); m.entries.removeLast()
        rejected(m, .badManifest, layers: 151)
    }

    func testTableOffsets() {
        var m = fx.manifest; m.layers[1].tableOffset = 121  // gap
        rejected(m, .badManifest, "layer 'py-3.12' file table")
        m = fx.manifest; m.layers[1].tableOffset = 119  // overlap
        rejected(m, .badManifest)
        m = fx.manifest; m.layers[0].tableOffset = 5
        rejected(m, .badManifest, "layer 'base' file table")
        m = fx.manifest; m.layers[2].tableLength = 1  // past the region
        rejected(m, .badManifest, "layer 'empty_x' file table")
        m = fx.manifest; m.layers[1].tableLength = .max
        rejected(m, .badManifest, "layer 'py-3.12' file table")
        rejected(fx.manifest, .badManifest, tables: 159)
    }

    func testTablesNotFillingRegion() {
        rejected(fx.manifest, .badManifest, tables: 161)
        var m = fx.manifest; m.layers[1].tableLength = 39; m.layers[2].tableOffset = 159
        rejected(m, .badManifest)
    }

    func testSizeAndCountLimits() {
        var m = fx.manifest; m.layers[0].uncompressedSize = Limits.maxLayerSize + 1
        rejected(m, .tooLarge, "layer 'base' declares \(Limits.maxLayerSize + 1) bytes, over the limit")
        m = fx.manifest; m.layers[0].uncompressedSize = .max
        rejected(m, .tooLarge, "over the limit of \(Limits.maxLayerSize)")
        // An uncompressed layer over the limit (its region is as large, since nothing is allocated).
        m = fx.manifest; m.layers[1].compressedSize = Limits.maxLayerSize + 1;
        m.layers[1].uncompressedSize = Limits.maxLayerSize + 1
        rejected(m, .tooLarge, "layer 'py-3.12' declares", layers: 100 + Limits.maxLayerSize + 1)
        m = fx.manifest; m.layers[1].fileCount = Limits.maxFilesPerLayer + 1
        rejected(m, .tooLarge, "declares \(Limits.maxFilesPerLayer + 1) files, over the limit")
        var r = raw; r.layers[0].fileCount = .max
        rejected(r, .tooLarge, "declares \(UInt32.max) files")
        m = fx.manifest; m.layers[2].tableLength = Limits.maxFileTableLength + 1
        rejected(
            m, .tooLarge, "file table is \(Limits.maxFileTableLength + 1) bytes, over the limit",
            tables: 160 + Limits.maxFileTableLength + 1)
    }

    func testUncompressedLayerSizesMustMatch() {
        var m = fx.manifest; m.layers[1].uncompressedSize = 51
        rejected(m, .badManifest, "uncompressed layer 'py-3.12' has different stored and declared sizes")
        m = fx.manifest; m.layers[1].uncompressedSize = 0
        rejected(m, .badManifest)
        m = fx.manifest; m.layers[2].codec = .none; m.layers[2].uncompressedSize = 1
        rejected(m, .badManifest, "uncompressed layer 'empty_x'")
    }

    // MARK: Hostile counts

    func testHugeCountsFailFastWithoutAllocating() {
        assertFast {
            var r = raw; r.layerCount = 0xFFFF_FFFF
            rejected(r, .tooLarge, "layer count is 4294967295, over the limit of 256")
            r = raw; r.layerCount = UInt32(Limits.maxLayers + 1)
            rejected(r, .tooLarge, "layer count is 257")
            r = raw; r.layerCount = UInt32(Limits.maxLayers)  // within limits, but the data is not there
            rejected(r, .badManifest)
            r = raw; r.entryCount = 0xFFFF_FFFF
            rejected(r, .tooLarge, "entry count is 4294967295, over the limit of 256")
            r = raw; r.entries[1].argvCount = 0xFFFF_FFFF
            rejected(r, .tooLarge, "entry 'py' argv count is 4294967295, over the limit of 1024")
            r = raw; r.entries[1].argvCount = UInt32(Limits.maxArgvItems + 1)
            rejected(r, .tooLarge, "argv count is 1025")
            r = raw; r.entries[0].envCount = 0xFFFF_FFFF
            rejected(r, .tooLarge, "entry 'app' env count is 4294967295, over the limit of 1024")
            r = raw; r.entries[0].layerCount = 0xFFFF_FFFF
            rejected(r, .tooLarge, "entry 'app' layer count is 4294967295, over the limit of 3")
            r = raw; r.entries[0].layerCount = 4  // more than the bundle's layers
            rejected(r, .tooLarge, "layer count is 4, over the limit of 3")
            r = raw; r.entries[3].argvCount = UInt32(Limits.maxArgvItems)
            rejected(r, .tooLarge)  // the next bytes, read as a length, are over the string limit
            // Counts within the limits but with nothing behind them.
            var w = ByteWriter(); w.string("app"); w.string("1"); w.u64(0); w.raw(Fx.keyID);
            w.u32(UInt32(Limits.maxLayers))
            assertBundleError(try fx.decode(w.bytes), .truncated)
            w = ByteWriter(); w.string("app"); w.string("1"); w.u64(0); w.raw(Fx.keyID); w.u32(0);
            w.u32(UInt32(Limits.maxEntries))
            assertBundleError(try Manifest(decoding: w.bytes, layersLength: 0, tablesLength: 0), .truncated)
            w = ByteWriter(); w.string("app"); w.string("1"); w.u64(0); w.raw(Fx.keyID); w.u32(0); w.u32(1)
            w.string("e"); w.u8(0); w.u32(UInt32(Limits.maxArgvItems))
            assertBundleError(
                try Manifest(decoding: w.bytes, layersLength: 0, tablesLength: 0), .truncated,
                mentions: "truncated at byte 46")
        }
    }

    func testHugeStringLengthsFailFast() {
        assertFast {
            // A string length of 0xFFFFFFFF in place of the app name, the version, an argv item, an env value.
            var w = ByteWriter(); w.u32(0xFFFF_FFFF)
            assertBundleError(
                try fx.decode(w.bytes), .tooLarge, mentions: "app name is 4294967295 bytes, over the limit of 64")
            w = ByteWriter(); w.string("app"); w.u32(0xFFFF_FFFF)
            assertBundleError(try fx.decode(w.bytes), .tooLarge, mentions: "app version is 4294967295 bytes")
            var r = raw; r.entries[0].argv[0] = [UInt8](repeating: 0x61, count: Limits.maxStringLength + 1)
            rejected(
                r, .tooLarge,
                "argv[0] is \(Limits.maxStringLength + 1) bytes, over the limit of \(Limits.maxStringLength)")
            r = raw; r.entries[0].env[0].1 = [UInt8](repeating: 0x61, count: Limits.maxStringLength + 1)
            rejected(r, .tooLarge, "env APP_HOME is \(Limits.maxStringLength + 1) bytes")
            r = raw; r.entries[0].env[0].0 = [UInt8](repeating: 0x41, count: 257)
            rejected(r, .tooLarge, "env name is 257 bytes")
            // The declared length is checked before the bytes are read: a 4 GiB claim in 20 bytes.
            w = ByteWriter(); w.string("app"); w.string("1"); w.u64(0); w.raw(Fx.keyID); w.u32(1); w.u32(0xFFFF_FFFF)
            assertBundleError(try fx.decode(w.bytes), .tooLarge, mentions: "layer 0 name is 4294967295 bytes")
        }
    }

    // MARK: Entries

    func testTwoDefaultEntries() {
        var m = fx.manifest; m.entries[2].isDefault = true
        rejected(m, .badManifest, "two default entries ('app' and 'tool.v2')")
        m = fx.manifest; for i in m.entries.indices { m.entries[i].isDefault = true }
        rejected(m, .badManifest)
    }

    func testEmptyArgv() {
        var m = fx.manifest; m.entries[2].argv = []
        rejected(m, .badManifest, "entry 'tool.v2' has an empty argv")
    }

    func testEntryLayerIndices() {
        var m = fx.manifest; m.entries[1].layers = [0, 3]
        rejected(m, .badManifest, "entry 'py' names layer 3, which is out of range or out of order")
        m = fx.manifest; m.entries[2].layers = [3]
        rejected(m, .badManifest, "names layer 3")
        var r = raw; r.entries[2].layers = [0xFFFF_FFFF]
        rejected(r, .badManifest, "names layer 4294967295")
        m = fx.manifest; m.entries[1].layers = [1, 0]  // unsorted
        rejected(m, .badManifest, "names layer 0, which is out of range or out of order")
        m = fx.manifest; m.entries[0].layers = [0, 0]  // repeated
        rejected(m, .badManifest)
        m = fx.manifest; m.entries[3].layers = [0, 2, 1]
        rejected(m, .badManifest)
    }

    func testPlaceholdersMustNameListedLayers() {
        var m = fx.manifest; m.entries[0].argv = ["{py-3.12}/bin/python"]
        rejected(m, .badManifest, "entry 'app' argv uses {py-3.12}, which is not one of its layers")
        m = fx.manifest; m.entries[1].env = [.init(key: "X", value: "a:{empty_x}:b")]
        rejected(m, .badManifest, "entry 'py' env X uses {empty_x}, which is not one of its layers")
        m = fx.manifest; m.entries[2].argv = ["{base}"]  // entry with no layers
        rejected(m, .badManifest)
        m = fx.manifest; m.entries[0].argv = ["{nope}"]  // no such layer at all
        rejected(m, .badManifest)
        // Escaped braces are literal text, not placeholders.
        m = fx.manifest; m.entries[2].argv = ["{{py-3.12}}", "}}{{"]
        XCTAssertEqual(try fx.decode(m.encoded()), m)
    }

    func testMalformedPlaceholders() {
        for bad in ["{base", "{", "{}", "x}y", "}", "{base}}", "{{base}"] {
            var m = fx.manifest; m.entries[0].argv = [bad]
            rejected(m, .badPlaceholder, "entry 'app' argv has a malformed placeholder")
            m = fx.manifest; m.entries[0].env = [.init(key: "K", value: bad)]
            rejected(m, .badPlaceholder, "entry 'app' env K has a malformed placeholder")
        }
    }

    func testInvalidEnvNames() {
        for bad in ["", "1A", "A-B", "A B", "A=B", "É", "a.b", "$X"] {
            var m = fx.manifest; m.entries[0].env = [.init(key: bad, value: "v")]
            rejected(m, .badManifest, "entry 'app' has invalid env name '\(bad)'")
        }
    }

    // MARK: Strings

    func testInvalidUTF8AndNULInStrings() {
        let badStrings: [[UInt8]] = [
            [0x61, 0xFF],  // invalid byte
            [0xC3],  // truncated sequence
            [0xC0, 0xAF],  // overlong '/'
            [0xED, 0xA0, 0x80],  // UTF-16 surrogate
            [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
            [0x61, 0x00, 0x62],  // NUL
            [0x00],
        ]
        for s in badStrings {
            var r = raw; r.appName = s
            rejected(r, .badManifest, "app name is not valid UTF-8")
            r = raw; r.appVersion = s
            rejected(r, .badManifest, "app version is not valid UTF-8")
            r = raw; r.layers[1].name = s
            rejected(r, .badManifest, "layer 1 name is not valid UTF-8")
            r = raw; r.entries[1].name = s
            rejected(r, .badManifest, "entry 1 name is not valid UTF-8")
            r = raw; r.entries[1].argv[1] = s
            rejected(r, .badManifest, "entry 'py' argv[1] is not valid UTF-8")
            r = raw; r.entries[0].env[1].0 = s
            rejected(r, .badManifest, "entry 'app' env name is not valid UTF-8")
            r = raw; r.entries[0].env[1].1 = s
            rejected(r, .badManifest, "entry 'app' env _x9 is not valid UTF-8")
        }
    }

    /// Every single-byte change is refused or decodes to a manifest that re-encodes to exactly
    /// the mutated bytes (the encoding is canonical); nothing traps.
    func testSingleByteMutationsNeverTrap() {
        let base = fx.manifest.encoded()
        var rng = SplitMix64(state: 42)
        var accepted = 0
        for i in base.indices {
            for v in [0, 1, 0xFF, base[i] ^ 0x80, UInt8.random(in: 0...255, using: &rng)] where v != base[i] {
                let b = base.setting(i, v)
                if let m = try? fx.decode(b) {
                    accepted += 1
                    XCTAssertEqual(m.encoded(), b, "byte \(i) = \(v)")
                }
            }
        }
        XCTAssertGreaterThan(accepted, 0)  // e.g. build time, key id, digests, argv text
    }
}
