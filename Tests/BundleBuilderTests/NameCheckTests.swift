import Foundation
import XCTest
@testable import BundleBuilder
import BundleFormat
import TestSupport

/// The target's name rules at assembly (`NameCheck`): real directories scanned by `LayerBuilder`,
/// then checked for each target. The rules themselves are pinned name by name in
/// BundleFormatTests.TargetNameRulesTests; here, that the builder applies them with one line
/// naming the layer, the path and the target, and refuses what the launcher's reader refuses.
final class NameCheckTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("namecheck", subdirectories: ["l"]) }
    override func tearDownWithError() throws { TempDir.remove(dir) }

    func write(_ files: [String], links: [(String, String)] = []) throws -> BuiltLayer {
        for f in files {
            let path = dir + "/l/" + f
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try "x".write(toFile: path, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        for (l, target) in links {
            try FileManager.default.createSymbolicLink(atPath: dir + "/l/" + l, withDestinationPath: target)
        }
        return try LayerBuilder.build(LayerSpec(name: "l", directory: dir + "/l", codec: .zstd, level: 1))
    }

    func spec(_ exec: [String] = ["{l}/run"], env: [(String, String)] = []) -> BundleSpec {
        BundleSpec(
            name: "hello", version: "1", layers: [LayerSpec(name: "l", directory: dir + "/l", codec: .zstd, level: 1)],
            entries: [
                EntrySpec(
                    name: "hello", exec: exec, env: env.map { .init(key: $0.0, value: $0.1) }, layers: ["l"],
                    isDefault: true)
            ])
    }

    func record(_ l: BuiltLayer) -> LayerRecord {
        LayerRecord(
            name: l.name, codec: l.codec, offset: 0, compressedSize: UInt64(l.compressed.count),
            uncompressedSize: l.uncompressedSize, fileCount: l.records.count, tableOffset: 0,
            tableLength: UInt64(l.storedTable.count), digest: l.digest, frames: l.frames)
    }

    func verdict(_ l: BuiltLayer, _ spec: BundleSpec, _ target: BuildTarget) -> String? {
        do { try NameCheck.check(spec, layers: [l], records: [record(l)], target: target); return nil } catch {
            XCTAssertFalse(error.message.contains("\n"), "one line: \(error.message)")
            return error.message
        }
    }

    func assertOnlyWindowsRefuses(
        _ l: BuiltLayer, _ spec: BundleSpec, mentions needles: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        for target in BuildTarget.allCases {
            let got = verdict(l, spec, target)
            if target.os == .windows {
                guard let got else { XCTFail("\(target.name) should refuse", file: file, line: line); continue }
                for n in needles + ["(target windows-x64)"] {
                    XCTAssertTrue(got.contains(n), "'\(got)' should mention '\(n)'", file: file, line: line)
                }
            } else {
                XCTAssertNil(got, target.name, file: file, line: line)
            }
        }
    }

    func testWindowsNamesAreRefusedWithLayerPathAndTarget() throws {
        let l = try write(["run", "doc/con.txt"])
        assertOnlyWindowsRefuses(l, spec(), mentions: ["layer 'l': doc/con.txt:", "device name"])
    }

    func testCaseCollisionsNameBothFilesForWindowsAndMacOS() throws {
        let l = try write(["run", "README", "lib/x", "readme"])
        for target in BuildTarget.allCases {
            let got = verdict(l, spec(), target)
            if target.os == .linux {
                XCTAssertNil(got, target.name)
            } else {
                XCTAssertTrue(
                    got?.contains("layer 'l': readme: equals README ignoring case") ?? false,
                    "\(target.name): \(got ?? "")")
                XCTAssertTrue(got?.hasSuffix("(target \(target.name))") ?? false, got ?? "")
            }
        }
    }

    func testSymlinksAreRefusedForWindows() throws {
        let l = try write(["run"], links: [("alias", "run")])
        assertOnlyWindowsRefuses(l, spec(), mentions: ["layer 'l': alias:", "cannot hold symlinks"])
    }

    func testEntryRulesUseTheSpecsKeys() throws {
        let l = try write(["run"])
        assertOnlyWindowsRefuses(
            l, spec(["{l}/run"], env: [("hello_bundle_dir", "x")]),
            mentions: ["entries.hello.env.hello_bundle_dir", "launcher's own variable"])
        assertOnlyWindowsRefuses(
            l, spec(["{l}/run", "{l}/a\\..\\..\\x"]), mentions: ["entries.hello.exec[1]", "'..'"])
        XCTAssertNil(verdict(l, spec(["C:\\tools\\x.exe"]), .windowsX64))
        // A spec read from a file: the message starts with its name, as the parser's do.
        var named = spec(["{l}/run"], env: [("hello_bundle_dir", "x")])
        named.fileName = "hello.toml"
        XCTAssertTrue(
            verdict(l, named, .windowsX64)?.hasPrefix("hello.toml: entries.hello.env.hello_bundle_dir: ") ?? false,
            verdict(l, named, .windowsX64) ?? "accepted")
    }

    /// Through `BundleAssembler.assemble`, before any stub patching: the check is on the build path.
    func testAssemblyRefusesBeforeWriting() throws {
        let l = try write(["run", "a."])
        var pe = [UInt8](repeating: 0, count: 0x100)
        pe[0] = 0x4D
        pe[1] = 0x5A
        pe[0x3C] = 0x80
        pe.replaceSubrange(0x80..<0x86, with: [0x50, 0x45, 0, 0, 0x64, 0x86])
        XCTAssertThrowsError(
            try BundleAssembler.assemble(
                stub: pe, spec: spec(), layers: [l], buildTime: 0, signing: .unsigned, target: .windowsX64)
        ) { e in
            XCTAssertTrue(
                (e as? BuildError)?.message.contains("layer 'l': a.: a name ends in a dot or a space") ?? false, "\(e)")
        }
    }
}
