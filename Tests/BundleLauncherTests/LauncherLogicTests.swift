import Foundation
import XCTest
import TestSupport
import BundleFormat
import BundleSystem
@testable import BundleLauncher

/// What the launcher decides, tested in process (the same code the stub links): the entry choice,
/// the environment the runtime gets, the self-path search without /proc, and the ops text and JSON.
final class LauncherLogicTests: XCTestCase {
    let digest = [UInt8](repeating: 0xAB, count: 32)

    func manifest(defaultEntry: Bool = true) -> Manifest {
        Manifest(
            appName: "dgmo", appVersion: "1.2.3", buildTime: 1_700_000_000, keyID: [1, 2, 3, 4, 5, 6, 7, 8],
            layers: [
                LayerRecord(
                    name: "native", codec: .zstd, offset: 0, compressedSize: 100, uncompressedSize: 300,
                    fileCount: 3, tableOffset: 0, tableLength: 90, digest: digest,
                    frames: [
                        FrameRecord(
                            storedOffset: 0, storedSize: 100, decodedOffset: 0, decodedSize: 300, digest: digest)
                    ])
            ],
            entries: [
                EntryRecord(name: "dgmo", isDefault: defaultEntry, argv: ["{native}/dgmo"], env: [], layers: [0]),
                EntryRecord(name: "dgm", isDefault: false, argv: ["{native}/dgm"], env: [], layers: [0]),
            ])
    }

    // MARK: the entry choice

    func testTheEntryIsTheRequestedOneElseTheProgramsNameElseTheDefault() throws {
        let m = manifest()
        XCTAssertEqual(try Launcher.chooseEntry(m, requested: "dgm", invokedAs: "dgmo").name, "dgm")
        XCTAssertEqual(
            try Launcher.chooseEntry(m, requested: nil, invokedAs: "dgm").name, "dgm", "a symlink dgm -> dgmo")
        XCTAssertEqual(try Launcher.chooseEntry(m, requested: "", invokedAs: "other").name, "dgmo", "empty is unset")
        XCTAssertEqual(try Launcher.chooseEntry(m, requested: nil, invokedAs: "other").name, "dgmo")
    }

    func testAnUnknownRequestOrNoDefaultIsOneLineNamingTheEntries() {
        assertBundleError(
            try Launcher.chooseEntry(manifest(), requested: "nope", invokedAs: "dgmo"), .usage,
            mentions: "DGMO_ENTRY=nope names no entry of this bundle (entries: dgmo, dgm)")
        assertBundleError(
            try Launcher.chooseEntry(manifest(defaultEntry: false), requested: nil, invokedAs: "x"), .usage,
            mentions: "no entry is named 'x' and the bundle has no default entry (entries: dgmo, dgm; set DGMO_ENTRY)")
    }

    // MARK: the runtime's environment

    func testTheRuntimeGetsTheEntrysVariablesAndTheFourBundleVariablesAndNoEntryChoice() {
        let m = manifest()
        let env = RuntimeEnvironment(
            manifest: m, entry: m.entries[0], exePath: "/opt/dgmo", cachePath: "/c",
            entryVariables: [("PYTHONHOME", "/c/layers/x")])
        XCTAssertEqual(
            env.assignments,
            [
                "PYTHONHOME=/c/layers/x", "DGMO_BUNDLE_EXE=/opt/dgmo", "DGMO_BUNDLE_VERSION=1.2.3",
                "DGMO_BUNDLE_ENTRY=dgmo", "DGMO_BUNDLE_CACHE=/c",
            ])
        func keeps(_ item: String) -> Bool { item.withCString { env.keeps($0) } }
        XCTAssertFalse(keeps("DGMO_ENTRY=dgm"), "the entry choice is for this launch only")
        XCTAssertFalse(keeps("DGMO_BUNDLE_EXE=/elsewhere"), "set here, so the received one goes")
        XCTAssertFalse(keeps("PYTHONHOME=/usr"))
        XCTAssertTrue(keeps("DGMO_ENTRYX=1"), "only the exact name")
        XCTAssertTrue(keeps("PATH=/usr/bin"))
        XCTAssertTrue(keeps("DGMO_CACHE_DIR=/tmp/c"), "the user's own settings pass through")
        XCTAssertTrue(keeps("DGMO"), "a variable without '=' is not one of ours")
    }

    // MARK: the self path without /proc

    func testWithoutProcTheSelfPathIsArgv0OrTheFirstExecutableOnPATH() throws {
        let dir = try TempDir.make("selfpath")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for d in ["a", "b", "c"] {
            try FileManager.default.createDirectory(atPath: "\(dir)/\(d)", withIntermediateDirectories: true)
        }
        // a/tool is a directory and b/tool is not executable: both passed over, as a shell does.
        try FileManager.default.createDirectory(atPath: "\(dir)/a/tool", withIntermediateDirectories: true)
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: "\(dir)/b/tool", contents: Data("x".utf8), attributes: [.posixPermissions: 0o644]))
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: "\(dir)/c/tool", contents: Data("x".utf8), attributes: [.posixPermissions: 0o755]))
        let saved = ProcessInfo.processInfo.environment["PATH"]
        defer { setenv("PATH", saved ?? "/usr/bin:/bin", 1) }
        setenv("PATH", "\(dir)/a:\(dir)/b:\(dir)/c", 1)
        XCTAssertEqual(findSelfWithoutProc(argv0: "tool"), "\(dir)/c/tool")
        XCTAssertNil(findSelfWithoutProc(argv0: "absent-tool"))
        XCTAssertNil(findSelfWithoutProc(argv0: ""))
        XCTAssertEqual(findSelfWithoutProc(argv0: "/abs/tool"), "/abs/tool")
        XCTAssertEqual(
            findSelfWithoutProc(argv0: "./rel/tool"), FileManager.default.currentDirectoryPath + "/./rel/tool",
            "a relative argv[0] with a slash is made absolute against the working directory")
    }

    // MARK: the ops text and JSON

    func testJSONStringsEscapeEverythingATerminalCouldActOn() {
        XCTAssertEqual(jsonString("a\"b\\c\nd\te"), #""a\"b\\c\nd\te""#)
        XCTAssertEqual(jsonString("\u{1B}[31m"), #""\u001b[31m""#)
        XCTAssertEqual(jsonString("x\u{202E}y\u{7F}"), #""x\u202ey\u007f""#)
        XCTAssertEqual(jsonString("ünïcödé"), "\"ünïcödé\"")
    }

    func testSizesTimesAndTablesReadTheSameEverywhere() {
        XCTAssertEqual(formatSize(0), "0 B")
        XCTAssertEqual(formatSize(1023), "1023 B")
        XCTAssertEqual(formatSize(1536), "1.5 KiB")
        XCTAssertEqual(formatSize(106_954_752), "102.0 MiB")
        XCTAssertEqual(formatTime(Int64(0)), "1970-01-01T00:00:00Z")
        XCTAssertEqual(formatTime(Int64(-1)), "1969-12-31T23:59:59Z")
        XCTAssertEqual(formatTime(UInt64.max), "(out of range: \(UInt64.max))")
        XCTAssertEqual(table([["NAME", "SIZE"], ["native", "1 B"]]), "  NAME    SIZE\n  native  1 B\n")
    }

    func testCacheHelpAnswersForEachCommandAndOnlyWhenAsked() throws {
        programName = "dgmo"
        XCTAssertNil(CacheHelp.text(for: ["list", "--json"]))
        let list = try XCTUnwrap(CacheHelp.text(for: ["list", "--help"]))
        XCTAssertEqual(
            list,
            "usage: dgmo --launcher cache list [--json]\n\n  every bundle and layer in the cache: size, last use, users, in use\n"
        )
        let all = try XCTUnwrap(CacheHelp.text(for: []))
        for c in CacheHelp.commands { XCTAssertTrue(all.contains(c.usage), c.name) }
    }

    /// `<APP>_CACHE_GC`: unset or empty is the 30-day default, `off` and `0` turn the automatic
    /// collection off, a duration sets the period, anything else is one complaint and the default.
    func testTheCollectionVariableTurnsItOffOrSetsThePeriod() {
        XCTAssertEqual(Launcher.collectionVariable(manifest()), "DGMO_CACHE_GC")
        let v = "DGMO_CACHE_GC"
        for (value, age) in [(nil, 30 * 86400), ("", 30 * 86400), ("7d", 7 * 86400), ("0s", 0)] as [(String?, Int64)] {
            let s = Launcher.collectionSetting(value, variable: v)
            XCTAssertEqual(s.age, age, "\(value ?? "unset")")
            XCTAssertNil(s.complaint)
        }
        for off in ["off", "0"] {
            let s = Launcher.collectionSetting(off, variable: v)
            XCTAssertNil(s.age, off)
            XCTAssertNil(s.complaint)
        }
        for odd in ["OFF", "soon", "7", "-1d"] {
            let s = Launcher.collectionSetting(odd, variable: v)
            XCTAssertEqual(s.age, 30 * 86400, odd)
            XCTAssertEqual(
                s.complaint,
                "DGMO_CACHE_GC=\(odd) is neither off, 0 nor a duration like 30d: collecting layers unused for 30d")
        }
    }

    func testHelpNamesTheBundleTheLauncherCommandsAndItsVariables() {
        programName = "dgmo"
        let text = Ops.help(manifest())
        XCTAssertTrue(text.hasPrefix("dgmo --launcher COMMAND: launcher commands of the dgmo 1.2.3 bundle\n"), text)
        for c in CacheHelp.commands { XCTAssertTrue(text.contains(c.usage), "\(c.usage) in:\n\(text)") }
        for word in ["info [--json]", "DGMO_CACHE_DIR", "DGMO_ENTRY", "DGMO_CACHE_GC", "exit with status 125"] {
            XCTAssertTrue(text.contains(word), "\(word) in:\n\(text)")
        }
    }
}
