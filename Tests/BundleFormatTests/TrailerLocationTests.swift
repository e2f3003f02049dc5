import XCTest
import TestSupport
@testable import BundleFormat

/// Finding the trailer of a PE bundle before its Authenticode certificate table
/// (docs/format.md, "Finding the trailer"), on PE headers made byte by byte.
final class TrailerLocationTests: XCTestCase {
    /// PE headers: "MZ", e_lfanew at 0x3C, "PE\0\0", a COFF header (Machine x86-64,
    /// SizeOfOptionalHeader), a PE32+ optional header with `directories` data directories and data
    /// directory 4 = `table` (offset, size). `length` bytes in all, zero elsewhere.
    static func pe(
        lfanew: Int = 0x80, magic: UInt16 = 0x20B, optionalSize: UInt16 = 240, directories: UInt32 = 16,
        table: (UInt32, UInt32) = (0, 0), length: Int = 0x400
    ) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: max(length, lfanew + 24 + 152))
        b[0] = 0x4D
        b[1] = 0x5A
        put32(&b, 0x3C, UInt32(lfanew))
        b.replaceSubrange(lfanew..<lfanew + 6, with: [0x50, 0x45, 0, 0, 0x64, 0x86])
        put16(&b, lfanew + 4 + 16, optionalSize)
        let optional = lfanew + 24
        put16(&b, optional, magic)
        put32(&b, optional + 108, directories)
        put32(&b, optional + 144, table.0)
        put32(&b, optional + 148, table.1)
        return Array(b.prefix(length))
    }

    static func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) {
        b[at] = UInt8(v & 0xFF)
        b[at + 1] = UInt8(v >> 8)
    }
    static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }

    func locate(_ prefix: [UInt8], _ fileSize: UInt64) throws -> TrailerLocation {
        try TrailerLocation(prefix: prefix, fileSize: fileSize)
    }

    func assertRefused(
        _ prefix: [UInt8], _ fileSize: UInt64, mentions needles: String..., file: StaticString = #filePath,
        line: UInt = #line
    ) {
        assertBundleError(
            try locate(prefix, fileSize), .badTrailer, mentioning: needles + ["PE file: "], file: file, line: line)
        do { _ = try locate(prefix, fileSize) } catch let e as BundleError {
            XCTAssertFalse(e.message.contains("\n"), "one line: \(e.message)", file: file, line: line)
        } catch { XCTFail("\(error)", file: file, line: line) }
    }

    // MARK: Not PE: today's rule

    func testNonPEFilesEndAtTheirSize() throws {
        var elf = [UInt8](repeating: 0, count: 64)
        elf.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        for (prefix, size) in [
            (elf, UInt64(12345)), ([], 0), ([0x4D], 1), (Array("#!/bin/sh\n".utf8), 97), (Array("ZM".utf8), 1001),
        ] {
            let l = try locate(prefix, size)
            XCTAssertEqual(l.end, size)
            XCTAssertFalse(l.isPE)
            XCTAssertNil(l.certificateTable)
            XCTAssertNil(try PECertificateDirectory(prefix: prefix))
        }
    }

    // MARK: PE

    func testPEWithoutCertificateTableEndsAtItsSize() throws {
        let l = try locate(Self.pe(), 40_000)
        XCTAssertEqual(l.end, 40_000)
        XCTAssertTrue(l.isPE)
        XCTAssertNil(l.certificateTable)
        XCTAssertEqual(try PECertificateDirectory(prefix: Self.pe()), PECertificateDirectory(offset: 0, size: 0))
        // Headers at another e_lfanew, and ones that end exactly at the end of what was read.
        XCTAssertEqual(try locate(Self.pe(lfanew: 0x40), 4096).end, 4096)
        XCTAssertEqual(try locate(Self.pe(lfanew: 0x100, length: 0x100 + 176), 4096).end, 4096)
        XCTAssertEqual(try locate(Self.pe(directories: 5), 4096).end, 4096)
        XCTAssertEqual(try locate(Self.pe(optionalSize: 152), 4096).end, 4096)
    }

    func testPEWithCertificateTableEndsWhereTheTableStarts() throws {
        let l = try locate(Self.pe(table: (40_000, 1432)), 41_432)
        XCTAssertEqual(l.end, 40_000)
        XCTAssertTrue(l.isPE)
        XCTAssertEqual(l.certificateTable, 40_000..<41_432)
        XCTAssertEqual(
            try PECertificateDirectory(prefix: Self.pe(table: (40_000, 1432))),
            PECertificateDirectory(offset: 40_000, size: 1432))
        // The smallest: a trailer and nothing else before an 8-byte table.
        XCTAssertEqual(try locate(Self.pe(table: (96, 8)), 104).end, 96)
        // The largest a PE file can say: offset and size are u32, their sum is not.
        XCTAssertEqual(
            try locate(Self.pe(table: (0xFFFF_FFF8, 0xFFFF_FFFF)), 0xFFFF_FFF8 + 0xFFFF_FFFF).end, 0xFFFF_FFF8)
    }

    func testTableThatDoesNotRunToTheEndIsRefused() {
        // Past the end (a cut file), and short of it (bytes appended after signing).
        assertRefused(Self.pe(table: (40_000, 1432)), 41_431, mentions: "runs past the end of the file (41431 bytes)")
        assertRefused(Self.pe(table: (40_000, 1432)), 40_000, mentions: "runs past the end")
        assertRefused(Self.pe(table: (40_000, 1432)), 10, mentions: "runs past the end")
        assertRefused(
            Self.pe(table: (40_000, 1432)), 41_433,
            mentions: "1 byte follow its certificate table (offset 40000, size 1432)", "appended after signing")
        assertRefused(Self.pe(table: (40_000, 1432)), UInt64.max, mentions: "bytes follow its certificate table")
        assertRefused(
            Self.pe(table: (0xFFFF_FFFF, 0xFFFF_FFFF)), 1 << 20, mentions: "offset 4294967295, size 4294967295")
    }

    func testHalfEmptyEntryIsRefused() {
        assertRefused(Self.pe(table: (0, 1432)), 1432, mentions: "half empty (offset 0, size 1432)")
        assertRefused(Self.pe(table: (40_000, 0)), 40_000, mentions: "half empty (offset 40000, size 0)")
    }

    func testBundleEndNotAMultipleOfEightIsRefused() {
        // Unsigned: the file's size; signed: the table's offset.
        assertRefused(Self.pe(), 40_001, mentions: "ends at byte 40001, not a multiple of 8")
        assertRefused(Self.pe(table: (40_004, 1432)), 41_436, mentions: "ends at byte 40004, not a multiple of 8")
    }

    func testTableLeavingNoRoomForTheTrailerIsRefused() {
        assertRefused(Self.pe(table: (88, 1000)), 1088, mentions: "offset 88 leaves no room for a bundle trailer")
        assertRefused(Self.pe(table: (8, 8)), 16, mentions: "leaves no room")
        // Without a table, a file too small for a trailer is the trailer's to refuse, as for any file.
        XCTAssertEqual(try locate(Self.pe(), 64).end, 64)
    }

    func testMalformedHeadersAreRefused() {
        assertRefused([0x4D, 0x5A], 1 << 20, mentions: "the DOS header is cut short (2 bytes)")
        assertRefused(Array(Self.pe().prefix(0x3F)), 1 << 20, mentions: "cut short (63 bytes)")
        assertRefused(
            Array(Self.pe().prefix(0x80 + 175)), 0x80 + 175,
            mentions: "e_lfanew 0x80) do not lie within the first 303 bytes")
        var far = Self.pe()
        Self.put32(&far, 0x3C, 0x1000)
        assertRefused(far, 1 << 20, mentions: "e_lfanew 0x1000")
        Self.put32(&far, 0x3C, 0xFFFF_FFFF)
        assertRefused(far, 1 << 20, mentions: "e_lfanew 0xffffffff")
        var noSignature = Self.pe()
        noSignature[0x81] = 0x46
        assertRefused(noSignature, 1 << 20, mentions: "no \"PE\" signature at e_lfanew 0x80")
        assertRefused(Self.pe(magic: 0x10B), 1 << 20, mentions: "optional header magic 0x10b is not PE32+ (0x20b)")
        assertRefused(Self.pe(magic: 0), 1 << 20, mentions: "magic 0x0 is not PE32+")
        assertRefused(Self.pe(optionalSize: 151), 1 << 20, mentions: "optional header of 151 bytes is too short")
        assertRefused(Self.pe(optionalSize: 0), 1 << 20, mentions: "optional header of 0 bytes")
        assertRefused(Self.pe(directories: 4), 1 << 20, mentions: "has 4 data directories, fewer than the 5")
        assertRefused(Self.pe(directories: 0), 1 << 20, mentions: "has 0 data directories")
    }

    // MARK: With the trailer, as BundleFile reads it

    /// `PE headers (the stub) | header | tables | signature | trailer | certificate table`, 1320
    /// bytes before the table (a multiple of 8), with data directory 4 pointing at `tableOffset`
    /// (by default the byte after the trailer) and running to the end.
    func bundle(tableOffset: UInt32? = nil, tableSize: Int = 1432) -> [UInt8] {
        let stub = 1030
        let h = UInt64(stub), t = h + 100, s = t + 20, e = s + UInt64(SignatureBlock.size)
        let trailer = Trailer(signed: true, layers: h..<h, header: h..<t, tables: t..<s, signature: s..<e)
        var b = Self.pe(length: stub) + [UInt8](repeating: 0, count: Int(e - h)) + trailer.encoded()
        let offset = tableOffset ?? UInt32(b.count)
        b += [UInt8](repeating: 0xAB, count: tableSize)
        Self.put32(&b, 0x80 + 24 + 144, offset)
        Self.put32(&b, 0x80 + 24 + 148, UInt32(b.count) - offset)
        return b
    }

    func read(_ b: [UInt8]) throws -> Trailer {
        let l = try TrailerLocation(prefix: Array(b.prefix(TrailerLocation.prefixLength)), fileSize: UInt64(b.count))
        return try Trailer(decoding: Array(b[Int(l.end) - Trailer.size..<Int(l.end)]), fileSize: l.end)
    }

    func testTrailerIsReadBeforeTheTable() throws {
        let b = bundle()
        XCTAssertEqual(b.count % 8, 0)
        let t = try read(b)
        XCTAssertEqual(b.count, 1320 + 1432)
        XCTAssertEqual(t.stubLength, 1030)
        XCTAssertEqual(t.signature.upperBound + UInt64(Trailer.size), UInt64(b.count - 1432))
    }

    func testTableOverlappingTheTrailerIsRefused() {
        let whole = bundle()
        let trailerStart = whole.count - 1432 - Trailer.size
        // The entry points into the trailer (8-aligned, so only the trailer's own checks can refuse it).
        for into in stride(from: 8, to: Trailer.size, by: 8) {
            let b = bundle(tableOffset: UInt32(trailerStart + into))
            assertBundleError(try read(b), .badTrailer, context: "table at trailer byte \(into)")
        }
        // Or into the regions before it: the trailer read there is no trailer.
        assertBundleError(try read(bundle(tableOffset: 0x400)), .badTrailer, mentions: "bad trailer magic")
    }

    // MARK: Robustness

    /// Seeded mutations of the PE headers (bytes, u16 and u32 fields set to edge values) and of the
    /// file size: every result is a location that fits the file, or one `badTrailer` line; nothing traps.
    func testSeededMutationsNeverTrap() {
        var random = SplitMix64.seeded(0x26_A07C, for: "PE header mutations")
        let base = Self.pe(table: (40_000, 1432), length: 0x200)
        let fields = [0x3C, 0x80, 0x84, 0x94, 0x98, 0x98 + 108, 0x98 + 144, 0x98 + 148]
        let edges: [UInt32] = [0, 1, 4, 5, 7, 8, 0x3F, 0x40, 0x80, 0x20B, 0x10B, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, .max]
        var accepted = 0
        for _ in 0..<5000 {
            var b = base
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where !b.isEmpty:
                    b[Int.random(in: 0..<b.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1:
                    let at = fields.randomElement(using: &random)!
                    if at + 4 <= b.count { Self.put32(&b, at, edges.randomElement(using: &random)!) }
                case 2:
                    let at = fields.randomElement(using: &random)!
                    if at + 2 <= b.count {
                        Self.put16(&b, at, UInt16(truncatingIfNeeded: edges.randomElement(using: &random)!))
                    }
                case 0: break
                default: b = Array(b.prefix(Int.random(in: 0...b.count, using: &random)))
                }
            }
            let sizes: [UInt64] = [
                0, 95, 96, 41_432, 41_433, 1 << 32, UInt64.random(in: 0...(1 << 33), using: &random),
            ]
            let size = sizes.randomElement(using: &random)!
            do {
                let l = try TrailerLocation(prefix: b, fileSize: size)
                accepted += 1
                XCTAssertLessThanOrEqual(l.end, size)
                if let table = l.certificateTable {
                    XCTAssertEqual(table, l.end..<size)
                    XCTAssertTrue(l.isPE)
                    XCTAssertGreaterThanOrEqual(l.end, UInt64(Trailer.size))
                }
                if l.isPE {
                    XCTAssertEqual(l.end % 8, 0)
                } else {
                    XCTAssertEqual(l.end, size)
                }
            } catch {
                XCTAssertEqual(error.code, .badTrailer)
                XCTAssertFalse(error.message.contains("\n"), error.message)
            }
        }
        XCTAssertGreaterThan(accepted, 0)
    }
}
