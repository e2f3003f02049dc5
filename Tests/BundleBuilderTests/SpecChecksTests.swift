import Foundation
import XCTest
@testable import BundleBuilder
import BundleFormat
import TestSupport

/// The build-time checks of a spec against its layers (`SpecChecks`), the glibc floor's report and
/// check (`GlibcFloor`; its reader is ElfReaderTests'), and the spec file's name at the start of
/// errors found after parsing (`BundleSpec.keyPrefix`).
final class SpecChecksTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("specchecks", subdirectories: ["a", "b"]) }
    override func tearDownWithError() throws { TempDir.remove(dir) }

    func file(_ path: String, mode: Int = 0o755) throws {
        let full = dir + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "x".write(toFile: full, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
    }

    func spec(_ exec: [String], layers: [String] = []) throws -> BundleSpec {
        let toml = """
            [bundle]
            name = "hello"
            version = "1"
            [layers.a]
            path = "a"
            [layers.b]
            path = "b"
            [entries.hello]
            exec = [\(exec.map { "\"\($0)\"" }.joined(separator: ", "))]
            layers = [\(layers.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        return try BundleSpec.parse(toml: toml, baseDirectory: dir, fileName: "hello.toml")
    }

    func refusal(_ spec: BundleSpec, target: BuildTarget = .default) throws -> String? {
        do {
            try SpecChecks.bareProgramNames(spec, layers: try LayerFiles.scan(spec.layers), target: target)
            return nil
        } catch { return error.message }
    }

    func testBareNameHeldByALayerIsRefusedWithTheShallowestPath() throws {
        try file("b/deep/er/black")
        try file("b/tool/black")
        try file("a/black.txt")
        let message = try XCTUnwrap(try refusal(try spec(["black"], layers: ["a", "b"])))
        XCTAssertEqual(
            message,
            "hello.toml: entries.hello.exec[0]: 'black' is a bare name looked up in PATH at run time, but layer 'b' holds black (at tool/black; 1 more in the layers): write \"{b}/tool/black\" to run it, or an absolute path to run the system's"
        )
        // Absolute paths and placeholders are no bare names; neither is a name no layer holds.
        XCTAssertNil(try refusal(try spec(["/usr/bin/black"], layers: ["a", "b"])))
        XCTAssertNil(try refusal(try spec(["{b}/tool/black"])))
        XCTAssertNil(try refusal(try spec(["env"], layers: ["a", "b"])))
    }

    func testOnlyProgramsCountOnLinuxAndExeCountsOnWindows() throws {
        try file("a/data/black", mode: 0o644)  // not executable: the launcher could not run it either
        XCTAssertNil(try refusal(try spec(["black"], layers: ["a"])))
        try file("b/bin/Black.EXE", mode: 0o644)  // Windows: no execute bit, case ignored, .exe added
        let windows = try XCTUnwrap(try refusal(try spec(["black"], layers: ["a"]), target: .windowsX64))
        XCTAssertTrue(windows.contains("layer 'a' holds black (at data/black; 1 more in the layers)"), windows)
        XCTAssertNil(try refusal(try spec(["black"], layers: ["a"]), target: .linuxX64))
    }

    func testUnusedLayersAreWarnedAboutExceptTheMetadataLayer() throws {
        XCTAssertEqual(SpecChecks.unusedLayers(try spec(["{a}/run"], layers: ["a", "b"])), [])
        XCTAssertEqual(
            SpecChecks.unusedLayers(try spec(["{a}/run"])),
            [
                "hello.toml: layers.b: no entry uses this layer, so it is never extracted: add it to an entry's layers (layers = [\"b\"]) or use {b} in an entry, or remove it"
            ])
        var s = try spec(["{a}/run"])
        s.layers[1].name = "bundle-metadata"
        XCTAssertEqual(SpecChecks.unusedLayers(s), [])
    }

    func testGlibcFloorReportAndCheck() throws {
        let floor = GlibcFloor(
            needs: [
                .init(file: "app/new.so", symbol: "GLIBC_2.34", version: [2, 34]),
                .init(file: "app/old.so", symbol: "GLIBC_2.17", version: [2, 17]),
            ], elfFiles: 3, carriedGlibc: nil)
        XCTAssertEqual(floor.report, "glibc floor: 2.34 (newest symbol GLIBC_2.34 needed by app/new.so)")
        XCTAssertNoThrow(try floor.check(minimum: [2, 34]))
        XCTAssertThrowsError(try floor.check(minimum: [2, 17])) { e in
            XCTAssertTrue(
                (e as? BuildError)?.message.hasPrefix("app/new.so needs GLIBC_2.34, newer than --min-glibc 2.17:")
                    ?? false, "\(e)")
        }
        XCTAssertThrowsError(try floor.check(minimum: [2, 16])) { e in
            XCTAssertTrue((e as? BuildError)?.message.contains("(2 files need more than 2.16)") ?? false, "\(e)")
        }
        XCTAssertEqual(
            GlibcFloor(needs: [], elfFiles: 1, carriedGlibc: nil).report,
            "glibc floor: none (no glibc symbols needed by the layers' 1 ELF file)")
        XCTAssertEqual(GlibcFloor.parseVersion("2.17"), [2, 17])
        for bad in ["2", "2.", "x.17", "2.-1", "", "2.+17", " 2.17"] { XCTAssertNil(GlibcFloor.parseVersion(bad), bad) }
    }

    func testRecordPathIsNamedAfterTheSpec() {
        XCTAssertEqual(CompressionChoice.recordPath(forSpec: "/src/hello.toml"), "/src/hello.compression.toml")
        XCTAssertEqual(CompressionChoice.recordPath(forSpec: "hello.toml"), "hello.compression.toml")
        XCTAssertEqual(CompressionChoice.recordPath(forSpec: "/spec"), "/spec.compression.toml")
    }
}
