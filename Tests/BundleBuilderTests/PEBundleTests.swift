import Foundation
import XCTest
@testable import BundleBuilder
import BundleCrypto
import BundleFormat
import TestSupport

/// A PE bundle's layout (docs/format.md, "Finding the trailer"): its length is a multiple of 8, the
/// zero padding at the end of the stub region, and a stub that is already Authenticode-signed or
/// whose headers no reader could use is refused. Stubs made byte by byte (the Windows launcher is
/// not built here): PE32+ headers and an empty key slot.
final class PEBundleTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("pebundle", subdirectories: ["l"]) }
    override func tearDownWithError() throws { TempDir.remove(dir) }

    /// An x86-64 PE32+ stub of `length` bytes with an empty key slot at 0x200 and data directory 4 = `table`.
    static func stub(length: Int, magic: UInt16 = 0x20B, table: (UInt32, UInt32) = (0, 0)) -> [UInt8] {
        var b = [UInt8](repeating: 0x90, count: length)
        b.replaceSubrange(0..<0x200, with: [UInt8](repeating: 0, count: 0x200))
        b[0] = 0x4D
        b[1] = 0x5A
        b[0x3C] = 0x80
        b.replaceSubrange(0x80..<0x86, with: [0x50, 0x45, 0, 0, 0x64, 0x86])
        b[0x84 + 16] = 240  // SizeOfOptionalHeader
        b[0x98] = UInt8(magic & 0xFF)
        b[0x99] = UInt8(magic >> 8)
        b[0x98 + 108] = 16  // NumberOfRvaAndSizes
        for i in 0..<4 {
            b[0x98 + 144 + i] = UInt8(truncatingIfNeeded: table.0 >> (8 * i))
            b[0x98 + 148 + i] = UInt8(truncatingIfNeeded: table.1 >> (8 * i))
        }
        b.replaceSubrange(0x200..<0x200 + KeySlot.size, with: KeySlot.empty.encoded())
        return b
    }

    func layer(_ content: String) throws -> BuiltLayer {
        try content.write(toFile: dir + "/l/run.cmd", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir + "/l/run.cmd")
        return try LayerBuilder.build(LayerSpec(name: "l", directory: dir + "/l", codec: .zstd, level: 1))
    }

    var spec: BundleSpec {
        BundleSpec(
            name: "win", version: "1", layers: [LayerSpec(name: "l", directory: dir + "/l", codec: .zstd, level: 1)],
            entries: [EntrySpec(name: "win", exec: ["{l}/run.cmd"], env: [], layers: ["l"], isDefault: true)])
    }

    func assemble(_ stub: [UInt8], _ layer: BuiltLayer, _ signing: Signing) throws -> [UInt8] {
        try BundleAssembler.assemble(
            stub: stub, spec: spec, layers: [layer], buildTime: 0, signing: signing, target: .windowsX64)
    }

    func testPEBundleLengthIsAMultipleOf8WithTheStubPadded() throws {
        let key = SecretKey.generate()
        var paddings = Set<Int>()
        for extra in 0..<8 {
            let l = try layer(String(repeating: "x", count: extra * 3 + 1))
            for signing in [Signing.unsigned, .key(key)] {
                for stubLength in [0x400, 0x401, 0x403, 0x407] {
                    let stub = Self.stub(length: stubLength)
                    let out = try assemble(stub, l, signing)
                    XCTAssertEqual(out.count % 8, 0, "stub \(stubLength), extra \(extra)")
                    let location = try TrailerLocation(
                        prefix: Array(out.prefix(TrailerLocation.prefixLength)), fileSize: UInt64(out.count))
                    XCTAssertEqual(location.end, UInt64(out.count))
                    XCTAssertTrue(location.isPE)
                    let trailer = try Trailer(decoding: Array(out.suffix(Trailer.size)), fileSize: location.end)
                    let padding = Int(trailer.stubLength) - stubLength
                    XCTAssertTrue((0..<8).contains(padding), "padding \(padding)")
                    XCTAssertTrue(out[stubLength..<Int(trailer.stubLength)].allSatisfy { $0 == 0 })
                    paddings.insert(padding)
                    // The stub's bytes are the stub's, with its key slot patched.
                    XCTAssertEqual(Array(out[0..<0x200]), Array(stub[0..<0x200]))
                    XCTAssertEqual(KeySlotSearch.find(in: Array(out[0..<Int(trailer.stubLength)])), 0x200)
                }
            }
        }
        XCTAssertEqual(paddings.count, 8, "every padding from 0 to 7 occurs: \(paddings.sorted())")
    }

    func testELFBundlesAreNotPadded() throws {
        // The linux layout is unchanged: the trailer is the file's last bytes, the stub as given.
        var elf = [UInt8](repeating: 0, count: 0x401)
        elf.replaceSubrange(0..<4, with: ElfIdentity.magic)
        elf[4] = 2
        elf[5] = 1
        elf[18] = 62
        elf.replaceSubrange(0x200..<0x200 + KeySlot.size, with: KeySlot.empty.encoded())
        let l = try layer("x")
        let spec = BundleSpec(
            name: "lin", version: "1", layers: [LayerSpec(name: "l", directory: dir + "/l", codec: .zstd, level: 1)],
            entries: [EntrySpec(name: "lin", exec: ["{l}/run.cmd"], env: [], layers: ["l"], isDefault: true)])
        let out = try BundleAssembler.assemble(stub: elf, spec: spec, layers: [l], buildTime: 0, signing: .unsigned)
        let trailer = try Trailer(decoding: Array(out.suffix(Trailer.size)), fileSize: UInt64(out.count))
        XCTAssertEqual(trailer.stubLength, 0x401)
    }

    func testSignedStubIsRefused() throws {
        let l = try layer("x")
        let signed = Self.stub(length: 0x800, table: (0x600, 0x200))
        XCTAssertThrowsError(try assemble(signed, l, .unsigned)) { e in
            let m = (e as? BuildError)?.message ?? "\(e)"
            XCTAssertFalse(m.contains("\n"), m)
            for needle in [
                "the stub is Authenticode-signed (a certificate table of 512 bytes at offset 1536)",
                "osslsigncode remove-signature", "sign the bundle after building it",
            ] {
                XCTAssertTrue(m.contains(needle), "'\(m)' should mention '\(needle)'")
            }
        }
    }

    func testStubWithHeadersNoReaderCanUseIsRefused() throws {
        let l = try layer("x")
        XCTAssertThrowsError(try assemble(Self.stub(length: 0x800, magic: 0x10B), l, .unsigned)) { e in
            let m = (e as? BuildError)?.message ?? "\(e)"
            XCTAssertTrue(m.contains("the stub's PE file: optional header magic 0x10b is not PE32+"), m)
        }
    }
}
