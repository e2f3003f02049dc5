import XCTest
import TestSupport
@testable import BundleFormat

/// The build target in the manifest (docs/format.md, "Manifest header") and the ELF identity the
/// builder compares it with (docs/platforms.md). Real compiled ELF files are checked in
/// BundleBuilderTests.ArchitectureCheckTests; here the headers are made byte by byte.
final class BuildTargetTests: XCTestCase {
    func testNamesRoundTripAndUnknownNamesAreRefused() {
        for t in BuildTarget.allCases { XCTAssertEqual(BuildTarget(name: t.name), t) }
        XCTAssertEqual(
            BuildTarget.allCases.map(\.name), ["linux-x64", "linux-arm64", "windows-x64", "macos-x64", "macos-arm64"])
        for bad in [
            "", "linux-x86_64", "linux-aarch64", "Linux-x64", "linux-x64 ", "win32-x64", "darwin-x64", "darwin-arm64",
            "windows-arm64", "Windows-x64",
        ] {
            XCTAssertNil(BuildTarget(name: bad), bad)
        }
        XCTAssertEqual(BuildTarget.default, .linuxX64)
    }

    func testEachTargetsOSCPUAndExecutableFormat() {
        let expected: [BuildTarget: (BuildTarget.OperatingSystem, BuildTarget.CPU, BuildTarget.ExecutableFormat)] = [
            .linuxX64: (.linux, .x64, .elf), .linuxArm64: (.linux, .arm64, .elf), .windowsX64: (.windows, .x64, .pe),
            .macosX64: (.macos, .x64, .machO), .macosArm64: (.macos, .arm64, .machO),
        ]
        for t in BuildTarget.allCases {
            guard let (os, cpu, format) = expected[t] else { return XCTFail("\(t.name) has no expectation") }
            XCTAssertEqual(t.os, os, t.name)
            XCTAssertEqual(t.cpu, cpu, t.name)
            XCTAssertEqual(t.executableFormat, format, t.name)
        }
    }

    /// e_ident (16 bytes), e_type (2), e_machine (2) as an ELF file starts.
    func header(elfClass: UInt8 = 2, byteOrder: UInt8 = 1, machine: UInt16, magic: [UInt8] = ElfIdentity.magic)
        -> [UInt8]
    {
        var b = magic + [elfClass, byteOrder, 1, 0] + [UInt8](repeating: 0, count: 8)
        let type: UInt16 = 2, big = byteOrder == 2
        for v in [type, machine] { b += big ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        return b + [UInt8](repeating: 0x55, count: 44)
    }

    func testElfIdentityFromHeaders() {
        XCTAssertEqual(ElfIdentity(prefix: header(machine: 62)), BuildTarget.linuxX64.elf)
        XCTAssertEqual(ElfIdentity(prefix: header(machine: 183)), BuildTarget.linuxArm64.elf)
        XCTAssertEqual(ElfIdentity(prefix: header(machine: 62))?.name, "x86-64")
        XCTAssertEqual(ElfIdentity(prefix: header(machine: 183))?.name, "aarch64")
        XCTAssertEqual(ElfIdentity(prefix: header(elfClass: 1, machine: 3))?.name, "x86 (32-bit)")
        XCTAssertEqual(ElfIdentity(prefix: header(elfClass: 1, machine: 40))?.name, "arm (32-bit)")
        XCTAssertEqual(ElfIdentity(prefix: header(machine: 243))?.name, "riscv")
        XCTAssertEqual(ElfIdentity(prefix: header(machine: 4242))?.name, "e_machine 4242")
        // e_machine is read in the file's byte order: a big-endian aarch64 file is not a linux-arm64 one.
        let bigArm = ElfIdentity(prefix: header(byteOrder: 2, machine: 183))
        XCTAssertEqual(bigArm?.machine, 183)
        XCTAssertEqual(bigArm?.name, "aarch64 (big-endian)")
        XCTAssertNotEqual(bigArm, BuildTarget.linuxArm64.elf)
        // x32 (a 32-bit ELF for x86-64) is not a linux-x64 program either.
        XCTAssertNotEqual(ElfIdentity(prefix: header(elfClass: 1, machine: 62)), BuildTarget.linuxX64.elf)
        // A damaged class or byte order matches no target.
        let odd = ElfIdentity(prefix: header(elfClass: 7, byteOrder: 9, machine: 62))
        XCTAssertEqual(odd?.name, "x86-64 (ELF class 7, byte order 9)")
        XCTAssertFalse(BuildTarget.allCases.contains { $0.elf == odd })
    }

    func testNotElfOrTooShortToSayIsNoIdentity() {
        XCTAssertNil(ElfIdentity(prefix: []))
        XCTAssertNil(ElfIdentity(prefix: Array(header(machine: 62).prefix(19))))
        XCTAssertNil(ElfIdentity(prefix: header(machine: 62, magic: Array("#!/b".utf8))))
        XCTAssertNil(ElfIdentity(prefix: header(machine: 62, magic: [0x7F, 0x45, 0x4C, 0x47])))
        XCTAssertNotNil(ElfIdentity(prefix: Array(header(machine: 62).prefix(20))))
    }

    // MARK: The manifest field

    func testLinuxX64IsTheVersion1EncodingAndArm64AddsTheField() throws {
        let fx = Fx.manifest()
        var arm = fx.manifest
        arm.target = .linuxArm64
        let x64Bytes = fx.manifest.encoded(), armBytes = arm.encoded()
        // A linux-x64 header is exactly what a version 1 writer from before targets wrote.
        XCTAssertEqual(x64Bytes, Fx.RawManifest(fx.manifest).encoded())
        XCTAssertEqual(try fx.decode(x64Bytes).target, .linuxX64)
        var w = ByteWriter()
        w.string("linux-arm64")
        XCTAssertEqual(armBytes, x64Bytes + w.bytes)
        XCTAssertEqual(try fx.decode(armBytes), arm)
        XCTAssertEqual(try fx.decodeRaw(armBytes).target, .linuxArm64)
    }

    /// The new targets are new strings in the same field: linux-x64 and linux-arm64 headers keep
    /// their bytes, and a reader from before them refuses them as an unknown target.
    func testNewTargetsAreNewNamesInTheSameField() throws {
        let fx = Fx.manifest()
        let base = fx.manifest.encoded()
        for t in [BuildTarget.macosX64, .macosArm64] {
            var m = fx.manifest
            m.target = t
            var w = ByteWriter()
            w.string(t.name)
            XCTAssertEqual(m.encoded(), base + w.bytes, t.name)
            XCTAssertEqual(try fx.decode(m.encoded()).target, t)
        }
        // The fixture runs /usr/bin/env, which a Windows entry may not (EntryRules): drop it.
        var win = fx.manifest
        win.entries.removeAll { $0.name == "tool.v2" }
        let winBase = win.encoded()
        win.target = .windowsX64
        var w = ByteWriter()
        w.string("windows-x64")
        XCTAssertEqual(win.encoded(), winBase + w.bytes)
        XCTAssertEqual(try fx.decode(win.encoded()).target, .windowsX64)
    }

    func testTargetFieldRejections() {
        let fx = Fx.manifest()
        let base = fx.manifest.encoded()
        func with(_ s: String) -> [UInt8] { var w = ByteWriter(); w.string(s); return base + w.bytes }
        assertBundleError(
            try fx.decode(with("linux-riscv64")), .badManifest, mentions: "unknown target 'linux-riscv64'")
        assertBundleError(try fx.decode(with("")), .badManifest, mentions: "unknown target ''")
        assertBundleError(
            try fx.decode(with("linux-\u{1b}[31m")), .badManifest, mentions: "unknown target 'linux-\\x1b[31m'")
        // One encoding per manifest: linux-x64 is said by leaving the field out.
        assertBundleError(
            try fx.decode(with("linux-x64")), .badManifest, mentions: "linux-x64", "leaving the field out")
        // What follows a target is the property count (PropertiesEncodingTests): one byte is a cut one.
        // Anything after the entries that is not a target string is stray bytes, named as such.
        assertBundleError(try fx.decode(with("linux-arm64") + [0]), .truncated, mentions: "truncated")
        assertBundleError(try fx.decode(base + [0, 0]), .badManifest, mentions: "2 unexpected bytes after the entries")
        var long = ByteWriter()
        long.u32(65)
        assertBundleError(
            try fx.decode(base + long.bytes + [UInt8](repeating: 0x61, count: 65)), .badManifest,
            mentions: "69 unexpected bytes")
        // A signed arm64 header cut back to its entries would read as linux-x64; the signature
        // covers the header's exact bytes (and the trailer its length), so it cannot be cut unnoticed.
        var arm = fx.manifest
        arm.target = .linuxArm64
        for n in base.count + 1..<arm.encoded().count {
            assertThrowsBundleError(try fx.decode(Array(arm.encoded().prefix(n))), "prefix \(n)")
        }
    }
}
