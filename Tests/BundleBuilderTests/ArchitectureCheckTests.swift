import Foundation
import XCTest
@testable import BundleBuilder
import BundleFormat
import TestSupport

/// The builder's ELF architecture check (docs/platforms.md) on real programs: one built with gcc
/// for x86-64 and one with Debian's cross gcc for aarch64 (installed by scripts/install-deps.sh
/// through scripts/lib/arm64-toolchain.sh).
final class ArchitectureCheckTests: XCTestCase {
    var dir = ""
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    override func setUpWithError() throws {
        dir = try TempDir.make("archcheck", subdirectories: ["x64/bin", "arm64/bin"])
        try "int main(void) { return 0; }\n".write(toFile: dir + "/main.c", atomically: true, encoding: .utf8)
        try compile("gcc", ["-O2", "-o", dir + "/x64/bin/tool", dir + "/main.c"])
        try compile("aarch64-linux-gnu-gcc", ["-static", "-O2", "-o", dir + "/arm64/bin/tool", dir + "/main.c"])
    }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    func compile(_ compiler: String, _ args: [String]) throws {
        let o = try ProcessRunner.run("/usr/bin/env", [compiler] + args)
        guard o.status == 0 else {
            throw BuildError(
                "\(compiler) \(args.joined(separator: " ")) failed (status \(o.status)); scripts/install-deps.sh installs it: \(o.stderr)"
            )
        }
    }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func layer(_ name: String, _ directory: String) throws -> BuiltLayer {
        try LayerBuilder.build(LayerSpec(name: name, directory: directory, codec: .zstd, level: 3))
    }

    func assertBuildError<T>(
        _ body: @autoclosure () throws -> T, mentions needles: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            let message = (e as? BuildError)?.message ?? "\(e)"
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            for n in needles {
                XCTAssertTrue(message.contains(n), "'\(message)' should mention '\(n)'", file: file, line: line)
            }
        }
    }

    func testRealProgramsHaveTheirTargetsIdentity() throws {
        XCTAssertEqual(
            ElfIdentity(prefix: Array(try bytes(dir + "/x64/bin/tool").prefix(20))), BuildTarget.linuxX64.elf)
        XCTAssertEqual(
            ElfIdentity(prefix: Array(try bytes(dir + "/arm64/bin/tool").prefix(20))), BuildTarget.linuxArm64.elf)
    }

    func testLayerBuilderRecordsEveryArchitectureItSaw() throws {
        // A mixed tree: both programs, a script, a file that is only the ELF magic, a symlink to a program.
        try FileManager.default.copyItem(atPath: dir + "/arm64/bin/tool", toPath: dir + "/x64/bin/tool-arm64")
        try FileManager.default.copyItem(atPath: dir + "/arm64/bin/tool", toPath: dir + "/x64/bin/zz-arm64-again")
        try "#!/bin/sh\necho hi\n".write(toFile: dir + "/x64/run.sh", atomically: true, encoding: .utf8)
        try Data([0x7F, 0x45, 0x4C, 0x46]).write(to: URL(fileURLWithPath: dir + "/x64/magic-only"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/x64/link", withDestinationPath: "bin/tool-arm64")
        let built = try layer("mixed", dir + "/x64")
        XCTAssertEqual(
            built.executables,
            [.elf(BuildTarget.linuxX64.elf): "bin/tool", .elf(BuildTarget.linuxArm64.elf): "bin/tool-arm64"])
        XCTAssertEqual(try layer("plain", dir + "/x64/bin").executables.count, 2)
    }

    func testLayersWithAnotherArchitecturesFilesAreRefused() throws {
        let x64 = try layer("x64", dir + "/x64"), arm64 = try layer("arm64", dir + "/arm64")
        XCTAssertNoThrow(try ArchitectureCheck.checkLayers([x64], target: .linuxX64))
        XCTAssertNoThrow(try ArchitectureCheck.checkLayers([arm64], target: .linuxArm64))
        assertBuildError(
            try ArchitectureCheck.checkLayers([x64, arm64], target: .linuxX64),
            mentions: ["layer 'arm64'", "bin/tool", "aarch64 ELF file", "target is linux-x64 (x86-64)"])
        assertBuildError(
            try ArchitectureCheck.checkLayers([x64, arm64], target: .linuxArm64),
            mentions: ["layer 'x64'", "bin/tool", "x86-64 ELF file", "target is linux-arm64 (aarch64)"])
        // A layer without ELF files suits every target.
        try FileManager.default.createDirectory(atPath: dir + "/text", withIntermediateDirectories: true)
        try "#!/bin/sh\n".write(toFile: dir + "/text/run.sh", atomically: true, encoding: .utf8)
        let text = try layer("text", dir + "/text")
        for t in BuildTarget.allCases { XCTAssertNoThrow(try ArchitectureCheck.checkLayers([text], target: t)) }
    }

    func testTheStubMustBeTheTargets() throws {
        let x64 = try bytes(dir + "/x64/bin/tool"), arm64 = try bytes(dir + "/arm64/bin/tool")
        XCTAssertNoThrow(try ArchitectureCheck.checkStub(x64, target: .linuxX64))
        XCTAssertNoThrow(try ArchitectureCheck.checkStub(arm64, target: .linuxArm64))
        assertBuildError(
            try ArchitectureCheck.checkStub(arm64, target: .linuxX64),
            mentions: ["stub is an aarch64 ELF file", "linux-x64 needs an x86-64", "make stubs'"])
        assertBuildError(
            try ArchitectureCheck.checkStub(x64, target: .linuxArm64),
            mentions: ["stub is an x86-64 ELF file", "linux-arm64 needs an aarch64", "make stubs-arm64"])
        assertBuildError(
            try ArchitectureCheck.checkStub(Array("#!/bin/sh\n".utf8), target: .linuxX64),
            mentions: ["not an ELF executable"])
        assertBuildError(try ArchitectureCheck.checkStub([], target: .linuxArm64), mentions: ["not an ELF executable"])
    }

    /// The whole assembly for linux-arm64, with an aarch64 program that carries the key slot
    /// (Sources/CKeySlot/keyslot.c, cross-compiled: not a launcher, only what the builder patches)
    /// as the stub: the manifest says linux-arm64, and the x86-64 mix-ups are refused.
    func testAssemblingForArm64RecordsTheTarget() throws {
        let keyslot = Self.sources.appendingPathComponent("Sources/CKeySlot").path
        try "#include \"CKeySlot.h\"\nint main(void) { return ckeyslot_bytes()[32]; }\n".write(
            toFile: dir + "/slot.c", atomically: true, encoding: .utf8)
        try compile(
            "aarch64-linux-gnu-gcc",
            [
                "-static", "-O2", "-I", keyslot + "/include", "-o", dir + "/arm64-slot", dir + "/slot.c",
                keyslot + "/keyslot.c",
            ])
        try compile(
            "gcc",
            ["-O2", "-I", keyslot + "/include", "-o", dir + "/x64-slot", dir + "/slot.c", keyslot + "/keyslot.c"])
        let armStub = try bytes(dir + "/arm64-slot"), x64Stub = try bytes(dir + "/x64-slot")
        let spec = BundleSpec(
            name: "arch", version: "1",
            layers: [LayerSpec(name: "l", directory: dir + "/arm64", codec: .zstd, level: 3)],
            entries: [EntrySpec(name: "arch", exec: ["{l}/bin/tool"], env: [], layers: ["l"], isDefault: true)])
        let armLayer = try layer("l", dir + "/arm64"), x64Layer = try layer("l", dir + "/x64")

        let out = try BundleAssembler.assemble(
            stub: armStub, spec: spec, layers: [armLayer], buildTime: 0, signing: .unsigned, target: .linuxArm64)
        let trailer = try Trailer(decoding: Array(out.suffix(Trailer.size)), fileSize: UInt64(out.count))
        let header = Array(out[Int(trailer.header.lowerBound)..<Int(trailer.header.upperBound)])
        let manifest = try Manifest(
            decoding: header, layersLength: UInt64(trailer.layers.count), tablesLength: UInt64(trailer.tables.count))
        XCTAssertEqual(manifest.target, .linuxArm64)

        assertBuildError(
            try BundleAssembler.assemble(
                stub: x64Stub, spec: spec, layers: [armLayer], buildTime: 0, signing: .unsigned, target: .linuxArm64),
            mentions: ["stub is an x86-64 ELF file"])
        assertBuildError(
            try BundleAssembler.assemble(
                stub: armStub, spec: spec, layers: [x64Layer], buildTime: 0, signing: .unsigned, target: .linuxArm64),
            mentions: ["layer 'l': bin/tool is an x86-64 ELF file"])
        assertBuildError(
            try BundleAssembler.assemble(
                stub: armStub, spec: spec, layers: [armLayer], buildTime: 0, signing: .unsigned),
            mentions: ["stub is an aarch64 ELF file", "target linux-x64"])
        // linux-x64 (the default) writes no target field: the header is a version 1 one.
        let x64Out = try BundleAssembler.assemble(
            stub: x64Stub, spec: spec, layers: [x64Layer], buildTime: 0, signing: .unsigned)
        let x64Trailer = try Trailer(decoding: Array(x64Out.suffix(Trailer.size)), fileSize: UInt64(x64Out.count))
        let x64Header = Array(x64Out[Int(x64Trailer.header.lowerBound)..<Int(x64Trailer.header.upperBound)])
        XCTAssertEqual(
            try Manifest(
                decoding: x64Header, layersLength: UInt64(x64Trailer.layers.count),
                tablesLength: UInt64(x64Trailer.tables.count)
            ).target, .linuxX64)
        XCTAssertEqual(x64Header.count + 4 + "linux-arm64".utf8.count, header.count)
    }

    // MARK: PE and Mach-O (headers made byte by byte: no Windows or macOS compiler here)

    /// A PE file: "MZ", e_lfanew at 0x3C, "PE\0\0" there, then the COFF Machine.
    static func pe(machine: UInt16, lfanew: Int = 0x80) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: lfanew + 64)
        b[0] = 0x4D
        b[1] = 0x5A
        for i in 0..<4 { b[0x3C + i] = UInt8(truncatingIfNeeded: lfanew >> (8 * i)) }
        b.replaceSubrange(lfanew..<lfanew + 6, with: [0x50, 0x45, 0, 0, UInt8(machine & 0xFF), UInt8(machine >> 8)])
        return b
    }

    /// A thin 64-bit Mach-O file (MH_MAGIC_64, little-endian) for `cpu`.
    static func machO(cpu: UInt32, magic: UInt32 = 0xFEED_FACF) -> [UInt8] {
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return le(magic) + le(cpu) + le(3) + [UInt8](repeating: 0, count: 52)
    }

    /// A universal file (FAT_MAGIC, big-endian) with one slice per cputype.
    static func fat(_ cpus: [UInt32]) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { (0..<4).reversed().map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var b = be(0xCAFE_BABE) + be(UInt32(cpus.count))
        for (i, c) in cpus.enumerated() { b += be(c) + be(3) + be(UInt32(4096 * (i + 1))) + be(100) + be(12) }
        return b
    }

    func testIdentityOfEachFormat() throws {
        XCTAssertEqual(ExecutableIdentity(prefix: Self.pe(machine: 0x8664)), .pe(machine: 0x8664))
        XCTAssertEqual(ExecutableIdentity(prefix: Self.pe(machine: 0xAA64))?.description, "an aarch64 PE file")
        XCTAssertEqual(ExecutableIdentity(prefix: Self.pe(machine: 0x14C))?.description, "an x86 (32-bit) PE file")
        XCTAssertEqual(
            ExecutableIdentity(prefix: Self.pe(machine: 0x8664, lfanew: 0x40))?.description, "an x86-64 PE file")
        XCTAssertEqual(ExecutableIdentity(prefix: Self.machO(cpu: 0x0100_0007))?.description, "an x86-64 Mach-O file")
        XCTAssertEqual(ExecutableIdentity(prefix: Self.machO(cpu: 0x0100_000C))?.description, "an aarch64 Mach-O file")
        XCTAssertEqual(
            ExecutableIdentity(prefix: Self.machO(cpu: 7, magic: 0xFEED_FACE))?.description,
            "an x86 (32-bit) Mach-O file")
        XCTAssertEqual(
            ExecutableIdentity(prefix: Self.fat([0x0100_0007, 0x0100_000C]))?.description,
            "a Mach-O universal file (x86-64, aarch64)")
        XCTAssertEqual(
            ExecutableIdentity(prefix: try bytes(dir + "/x64/bin/tool")), .elf(BuildTarget.linuxX64.elf))
        // Not programs: "MZ" text, an MZ file whose e_lfanew points past its end or at no "PE\0\0",
        // a Java class file (0xCAFEBABE then its version, 52), a script, nothing.
        var noPE = Self.pe(machine: 0x8664)
        noPE[0x81] = 0x46
        for data in [
            Array("MZ is a text file that starts with M and Z, long enough to hold an e_lfanew field".utf8),
            Array(Self.pe(machine: 0x8664, lfanew: 0x1000).prefix(0x100)), noPE,
            [0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52] + [UInt8](repeating: 0, count: 64),
            Array("#!/bin/sh\n".utf8), [], [0x4D, 0x5A],
        ] {
            XCTAssertNil(ExecutableIdentity(prefix: data), "\(data.prefix(8))")
        }
    }

    /// Each program kind against each target: the target's own format must be for its CPU (any
    /// slice of a universal file); ELF is refused outside Linux and Mach-O on Windows; PE is data
    /// outside Windows (pip's launchers), and Linux checks ELF files only, as before.
    func testEachProgramKindAgainstEachTarget() throws {
        let x64Elf = try bytes(dir + "/x64/bin/tool"), armElf = try bytes(dir + "/arm64/bin/tool")
        let kinds: [(String, [UInt8], accepted: [BuildTarget])] = [
            ("x64 ELF", x64Elf, [.linuxX64]),
            ("arm64 ELF", armElf, [.linuxArm64]),
            ("x64 PE", Self.pe(machine: 0x8664), [.linuxX64, .linuxArm64, .windowsX64, .macosX64, .macosArm64]),
            ("arm64 PE", Self.pe(machine: 0xAA64), [.linuxX64, .linuxArm64, .macosX64, .macosArm64]),
            ("i386 PE", Self.pe(machine: 0x14C), [.linuxX64, .linuxArm64, .macosX64, .macosArm64]),
            ("x64 Mach-O", Self.machO(cpu: 0x0100_0007), [.linuxX64, .linuxArm64, .macosX64]),
            ("arm64 Mach-O", Self.machO(cpu: 0x0100_000C), [.linuxX64, .linuxArm64, .macosArm64]),
            ("universal", Self.fat([0x0100_0007, 0x0100_000C]), [.linuxX64, .linuxArm64, .macosX64, .macosArm64]),
            ("arm64-only universal", Self.fat([0x0100_000C]), [.linuxX64, .linuxArm64, .macosArm64]),
        ]
        for (name, data, accepted) in kinds {
            let d = dir + "/kind-\(name.replacingOccurrences(of: " ", with: "-"))"
            try FileManager.default.createDirectory(atPath: d + "/bin", withIntermediateDirectories: true)
            try Data(data).write(to: URL(fileURLWithPath: d + "/bin/prog"))
            let built = try layer("l", d)
            for target in BuildTarget.allCases {
                if accepted.contains(target) {
                    XCTAssertNoThrow(
                        try ArchitectureCheck.checkLayers([built], target: target), "\(name) \(target.name)")
                } else {
                    assertBuildError(
                        try ArchitectureCheck.checkLayers([built], target: target),
                        mentions: [
                            "layer 'l': bin/prog is", ExecutableIdentity(prefix: data)!.description,
                            "target is \(target.name) (\(target.programDescription))",
                        ])
                }
            }
        }
    }

    func testStubsOfOtherFormats() throws {
        let x64Elf = try bytes(dir + "/x64/bin/tool")
        XCTAssertNoThrow(try ArchitectureCheck.checkStub(Self.pe(machine: 0x8664), target: .windowsX64))
        XCTAssertNoThrow(try ArchitectureCheck.checkStub(Self.fat([7, 0x0100_000C]), target: .macosArm64))
        assertBuildError(
            try ArchitectureCheck.checkStub(x64Elf, target: .windowsX64),
            mentions: ["the stub is an x86-64 ELF file", "target windows-x64 needs an x86-64 PE one", "--stub"])
        assertBuildError(
            try ArchitectureCheck.checkStub(Self.pe(machine: 0x8664), target: .linuxX64),
            mentions: ["the stub is an x86-64 PE file", "linux-x64 needs an x86-64 one", "make stubs'"])
        assertBuildError(
            try ArchitectureCheck.checkStub(Self.machO(cpu: 0x0100_0007), target: .macosArm64),
            mentions: ["x86-64 Mach-O file", "macos-arm64 needs an aarch64 Mach-O one"])
        assertBuildError(
            try ArchitectureCheck.checkStub(Array("#!/bin/sh\n".utf8), target: .windowsX64),
            mentions: ["the stub is not a PE executable", "windows-x64 needs its x86-64 PE launcher stub"])
    }

    /// No launcher exists for the macOS targets: asking for one is one line that says so. The
    /// windows-x64 one is built by `make stubs-windows`: found beside the tools, or named.
    func testNoStubForTheNewTargetsIsOneLine() {
        do {
            let found = try StubLocation.default(for: .windowsX64)
            XCTAssertTrue(found.hasSuffix("/stubs/windows-x64/bundle-stub.exe"), found)
        } catch {
            for way in ["pass --stub FILE", "'make stubs-windows'", "/stubs/windows-x64/bundle-stub.exe, "] {
                XCTAssertTrue(error.description.contains(way), error.description)
            }
            XCTAssertFalse(error.description.contains("BUNDLE_APPEND_STUB"), "linux-x64 only: \(error.description)")
        }
        for target in [BuildTarget.macosX64, .macosArm64] {
            assertBuildError(
                try StubLocation.default(for: target),
                mentions: [
                    "cannot find the \(target.name) launcher stub", "stubs/\(target.name)/bundle-stub",
                    "no \(target.name) launcher is built yet",
                ])
        }
        XCTAssertEqual(StubLocation.fileName(.windowsX64), "bundle-stub.exe")
        XCTAssertEqual(StubLocation.fileName(.macosArm64), "bundle-stub")
    }
}
