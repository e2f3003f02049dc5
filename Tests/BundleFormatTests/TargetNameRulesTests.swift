import XCTest
import TestSupport
@testable import BundleFormat

/// The name rules per target (docs/format.md, "Name rules per target"): one table of names with
/// each target's verdict, then the rules that need a whole table (case collisions, symlinks) and
/// those of entries. Every target has the base rules; windows-x64 adds its own, and Windows and
/// macOS refuse two paths equal ignoring case.
final class TargetNameRulesTests: XCTestCase {
    typealias V = PathRules.Violation

    /// One path and the rule it breaks on the base targets (linux-x64, linux-arm64, macos-x64,
    /// macos-arm64) and on windows-x64; nil is accepted.
    struct Row {
        var path: String
        var base: V?
        var windows: V?
        init(_ path: String, _ base: V?, windows: V?) {
            self.path = path
            self.base = base
            self.windows = windows
        }
    }

    static let rows: [Row] = [
        // Accepted everywhere.
        Row("a", nil, windows: nil),
        Row("dir/file.txt", nil, windows: nil),
        Row("Makefile", nil, windows: nil),
        Row("résumé/日本語.txt", nil, windows: nil),
        Row(".hidden", nil, windows: nil),
        Row("a.b.c", nil, windows: nil),
        Row("...x", nil, windows: nil),
        Row("a b", nil, windows: nil),
        Row(" leading-space", nil, windows: nil),
        Row("x/.dgmo-layer", nil, windows: nil),
        // Device names only as the whole stem: these are ordinary names.
        Row("CONSOLE", nil, windows: nil),
        Row("icon.png", nil, windows: nil),
        Row("con_txt", nil, windows: nil),
        Row("COM10", nil, windows: nil),
        Row("LPT", nil, windows: nil),
        Row("COMX", nil, windows: nil),
        Row("COM²x", nil, windows: nil),
        Row("auxiliary.c", nil, windows: nil),
        Row("x.CON", nil, windows: nil),
        Row("nul-device", nil, windows: nil),
        // The base rules, the same on every target.
        Row("/etc/passwd", .absolute, windows: .absolute),
        Row("../x", .dotComponent, windows: .dotComponent),
        Row("a/./b", .dotComponent, windows: .dotComponent),
        Row("a//b", .dotComponent, windows: .dotComponent),
        Row(".dgmo-layer", .reserved, windows: .reserved),
        Row(String(repeating: "x", count: 256), .componentTooLong, windows: .componentTooLong),
        // `\` and `:`: one name on Linux and macOS, a separator, a drive or a stream on Windows.
        Row("..\\x", nil, windows: .windowsCharacter),
        Row("a\\b", nil, windows: .windowsCharacter),
        Row("dir/C:x", nil, windows: .windowsCharacter),
        Row("C:", nil, windows: .windowsCharacter),
        Row("file:stream", nil, windows: .windowsCharacter),
        // The other characters Win32 refuses in a name, and control characters.
        Row("a*b", nil, windows: .windowsCharacter),
        Row("what?", nil, windows: .windowsCharacter),
        Row("say\"hi\"", nil, windows: .windowsCharacter),
        Row("<x>", nil, windows: .windowsCharacter),
        Row("a|b", nil, windows: .windowsCharacter),
        Row("tab\there", nil, windows: .windowsCharacter),
        Row("esc\u{1b}[31m", nil, windows: .windowsCharacter),
        // Device names, in any case, with any extension, anywhere in the path.
        Row("CON", nil, windows: .windowsDeviceName),
        Row("con", nil, windows: .windowsDeviceName),
        Row("con.txt", nil, windows: .windowsDeviceName),
        Row("Com1.tar.gz", nil, windows: .windowsDeviceName),
        Row("dir/PRN", nil, windows: .windowsDeviceName),
        Row("aux.h", nil, windows: .windowsDeviceName),
        Row("NuL", nil, windows: .windowsDeviceName),
        Row("lpt9.log", nil, windows: .windowsDeviceName),
        Row("COM0", nil, windows: .windowsDeviceName),
        Row("LPT0.x", nil, windows: .windowsDeviceName),
        Row("nul/x", nil, windows: .windowsDeviceName),
        Row("CON .txt", nil, windows: .windowsDeviceName),
        Row("COM¹", nil, windows: .windowsDeviceName),
        Row("lpt².txt", nil, windows: .windowsDeviceName),
        Row("Com³", nil, windows: .windowsDeviceName),
        // A trailing dot or space, which Win32 drops ("a." opens "a").
        Row("a.", nil, windows: .windowsTrailingDotOrSpace),
        Row("a ", nil, windows: .windowsTrailingDotOrSpace),
        Row("dir./x", nil, windows: .windowsTrailingDotOrSpace),
        Row("x/...", nil, windows: .windowsTrailingDotOrSpace),
        Row("CON.", nil, windows: .windowsTrailingDotOrSpace),
        // The marker in another case is the marker on a case-insensitive volume.
        Row(".DGMO-Layer", nil, windows: .reserved),
        Row(".dgmo-LAYER/x", nil, windows: .reserved),
    ]

    func verdict(_ path: String, _ target: BuildTarget) -> V? {
        do { try PathRules.rule(Array(path.utf8), for: target); return nil } catch { return error }
    }

    func testEachNameHasEachTargetsVerdict() {
        XCTAssertEqual(Set(BuildTarget.allCases.map(\.os)).count, 3, "every OS has a column")
        for row in Self.rows {
            for target in BuildTarget.allCases {
                let expected = target.os == .windows ? row.windows : row.base
                XCTAssertEqual(verdict(row.path, target), expected, "'\(row.path)' for \(target.name)")
            }
        }
        // Every Windows rule has a row, and the rows say something new for Windows.
        let windowsRules: [V] = [.windowsCharacter, .windowsDeviceName, .windowsTrailingDotOrSpace, .reserved]
        for v in windowsRules { XCTAssertTrue(Self.rows.contains { $0.windows == v && $0.base == nil }, "\(v)") }
    }

    func testMarkerBytesAreTheMarkersName() {
        XCTAssertEqual(PathRules.markerBytes, Array(PathRules.markerName.utf8))
        // These tests run in the tools' build, which applies every target's rules.
        for t in BuildTarget.allCases { XCTAssertEqual(PathRules.rulesOS(t), t.os) }
    }

    func testPublicCheckSaysTheRuleAsBadPath() {
        assertBundleError(try PathRules.check("con.txt", for: .windowsX64), .badPath, mentions: "device name")
        assertBundleError(try PathRules.check("a\\b", for: .windowsX64), .badPath, mentions: "\\")
        assertBundleError(try PathRules.check("a.", for: .windowsX64), .badPath, mentions: "ends in a dot or a space")
        XCTAssertNoThrow(try PathRules.check("con.txt", for: .linuxX64))
        XCTAssertNoThrow(try PathRules.check("con.txt", for: .macosArm64))
        // No target given: the base rules, which the builder's scan applies before it knows one.
        XCTAssertNoThrow(try PathRules.check("con.txt"))
    }

    func testSymlinksAreRefusedForWindowsOnly() {
        for target in BuildTarget.allCases {
            let check = { try PathRules.checkSymlink(path: Array("bin/l".utf8), target: Array("x".utf8), for: target) }
            if target.os == .windows {
                assertBundleError(try check(), .badPath, mentions: "cannot hold symlinks", context: target.name)
            } else {
                XCTAssertNoThrow(try check(), target.name)
            }
        }
    }

    // MARK: Whole tables: case collisions and symlinks

    /// A table (paths sorted by bytes, as tables are) and the path the Windows and macOS targets
    /// refuse in it (their volumes ignore case); the linux targets accept each of them.
    static let tables: [(paths: [String], windowsRefuses: String?)] = [
        (["README", "readme"], "readme"),
        (["A", "B", "a"], "a"),  // not neighbours in byte order
        (["Makefile", "lib/", "makefile"], "makefile"),
        (["Dir/", "Dir/x", "dir/"], "dir"),
        (["d/", "d/ABC", "d/Abc", "d/abc"], "d/Abc"),
        (["a/", "a/X", "b/", "b/x"], nil),  // equal names in two directories
        (["x", "y", "z"], nil),
        (["Ä", "ä"], nil),  // non-ASCII is not folded (docs/format.md: the volume refuses it)
        (["AB", "Ab"], "Ab"),
        (["AB", "ABC", "abd"], nil),
        (["a-b", "a_b", "a.b"].sorted(), nil),
    ]

    func records(_ paths: [String]) -> [FileRecord] {
        paths.map { $0.hasSuffix("/") ? Fx.dir(String($0.dropLast())) : Fx.file($0) }
            .sorted { $0.path.lexicographicallyPrecedes($1.path) }
    }

    func testCaseCollisionsPerTarget() throws {
        for (paths, refused) in Self.tables {
            let files = records(paths)
            let bytes = FileTable.encode(files), layer = Fx.layer(for: files)
            for target in BuildTarget.allCases {
                if let refused, target.os != .linux {
                    assertBundleError(
                        try FileTable.decode(bytes, layer: layer, target: target), .badPath,
                        mentions: "unsafe path '\(refused)'", "ignoring case", context: "\(paths)")
                } else {
                    XCTAssertEqual(
                        try FileTable.decode(bytes, layer: layer, target: target), files, "\(paths) \(target.name)")
                }
            }
        }
    }

    func testSymlinkRecordsAreRefusedInWindowsTables() throws {
        let files = records(["a"]) + [Fx.link("l", "a")]
        let bytes = FileTable.encode(files), layer = Fx.layer(for: files)
        XCTAssertEqual(try FileTable.decode(bytes, layer: layer, target: .linuxArm64), files)
        XCTAssertEqual(try FileTable.decode(bytes, layer: layer, target: .macosX64), files)
        assertBundleError(
            try FileTable.decode(bytes, layer: layer, target: .windowsX64), .badPath, mentions: "symlink 'l'",
            "cannot hold symlinks")
    }

    /// The case check keeps one hash per path that holds a capital: a large lowercase directory
    /// costs nothing, and a collision between its first and last names is still found.
    func testCaseCheckScalesAndFindsDistantCollisions() throws {
        let n = 100_000
        var names = (0..<n).map { "f\(String($0, radix: 36))" }
        names.append("F0")
        let files = records(["d/"] + names.map { "d/" + $0 })
        let layer = Fx.layer(for: files)
        assertBundleError(
            try FileTable.decode(FileTable.encode(files), layer: layer, target: .windowsX64), .badPath,
            mentions: "unsafe path 'd/f0'", "ignoring case")
        let clean = records(["d/"] + names.dropLast().map { "d/" + $0 } + ["d/G0", "d/Zz"])
        XCTAssertEqual(
            try FileTable.decode(FileTable.encode(clean), layer: Fx.layer(for: clean), target: .windowsX64).count, n + 3
        )
    }

    func testFoldedHashIgnoresASCIICaseOnly() {
        XCTAssertEqual(CaseFoldedPaths.hash(Array("Dir/READ.me".utf8)), CaseFoldedPaths.hash(Array("dir/read.ME".utf8)))
        XCTAssertNotEqual(CaseFoldedPaths.hash(Array("Ä".utf8)), CaseFoldedPaths.hash(Array("ä".utf8)))
        XCTAssertNotEqual(CaseFoldedPaths.hash(Array("a".utf8)), CaseFoldedPaths.hash(Array("b".utf8)))
        // `@` and `[` sit beside A-Z; they are not letters.
        XCTAssertNotEqual(CaseFoldedPaths.hash(Array("@".utf8)), CaseFoldedPaths.hash(Array("`".utf8)))
        XCTAssertNotEqual(CaseFoldedPaths.hash(Array("[".utf8)), CaseFoldedPaths.hash(Array("{".utf8)))
        XCTAssertNotEqual(CaseFoldedPaths.hash([]), 0)
    }

    // MARK: Entries

    func entryVerdict(_ argv: [String], env: [(String, String)] = [], _ target: BuildTarget) -> String? {
        let e = EntryRecord(
            name: "e", isDefault: true, argv: argv, env: env.map { .init(key: $0.0, value: $0.1) }, layers: [])
        do { try EntryRules.check(e, environmentPrefix: "HELLO", target: target); return nil } catch { return error.message }
    }

    /// Entries and whether each is accepted on the base targets and on windows-x64; a refusal is
    /// given by a piece of its message.
    static let entries: [(argv: [String], env: [(String, String)], base: String?, windows: String?)] = [
        (["{l}/bin/app"], [], nil, nil),
        (["sh", "-c", "x"], [], nil, nil),
        (["cmd.exe"], [], nil, nil),
        (["/bin/sh"], [], nil, "working directory or drive"),
        // On Linux and macOS a name with backslashes is one file name, looked up in PATH.
        (["C:\\Windows\\System32\\cmd.exe"], [], nil, nil),
        (["c:/tools/x.exe"], [], "working directory", nil),
        (["..\\x"], [], nil, "working directory or drive"),
        (["bin\\x"], [], nil, "working directory or drive"),
        (["C:x"], [], nil, "working directory or drive"),
        (["\\x"], [], nil, "working directory or drive"),
        (["{l}/con.exe"], [], nil, "device name"),
        (["{l}/bin\\x"], [], nil, "must name a file inside layer 'l'"),
        (["{l}/bin/x", "{l}/a\\..\\..\\y"], [], nil, "'..' after {l}"),
        (["{l}/bin/x"], [("HELLO_BUNDLE_DIR", "x")], "launcher's own variable", "launcher's own variable"),
        (["{l}/bin/x"], [("hello_bundle_dir", "x")], nil, "launcher's own variable"),
        (["{l}/bin/x"], [("Hello_Entry", "x")], nil, "launcher's own variable"),
        (["{l}/bin/x"], [("PATH", "a"), ("Path", "b")], nil, "is set twice"),
        (["{l}/bin/x"], [("PATH", "a"), ("PATH", "b")], "is set twice", "is set twice"),
    ]

    func testEntryRulesPerTarget() {
        for row in Self.entries {
            for target in BuildTarget.allCases {
                let expected = target.os == .windows ? row.windows : row.base
                let got = entryVerdict(row.argv, env: row.env, target)
                if let expected {
                    XCTAssertTrue(
                        got?.contains(expected) ?? false, "\(row.argv) \(row.env) \(target.name): \(got ?? "accepted")")
                } else {
                    XCTAssertNil(got, "\(row.argv) \(row.env) \(target.name)")
                }
            }
        }
    }

    /// The manifest applies the entry rules of its own target, which is read after the entries.
    func testManifestChecksEntriesByItsTarget() throws {
        var fx = Fx.manifest()
        // The fixture's "tool.v2" entry runs /usr/bin/env: absolute on Linux, drive-relative on Windows.
        XCTAssertNoThrow(try fx.roundTrip())
        fx.manifest.target = .macosArm64
        XCTAssertEqual(try fx.roundTrip().target, .macosArm64)
        fx.manifest.target = .windowsX64
        assertBundleError(
            try fx.roundTrip(), .badEntry, mentions: "manifest: entry 'tool.v2'", "/usr/bin/env", "drive")
        fx.manifest.entries.removeAll { $0.name == "tool.v2" }
        XCTAssertEqual(try fx.roundTrip().target, .windowsX64)
    }
}
