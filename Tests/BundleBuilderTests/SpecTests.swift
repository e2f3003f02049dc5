import Foundation
import XCTest
import BundleBuilder
import BundleFormat
import TestSupport

final class SpecTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("spec", subdirectories: ["native", "scripts"]) }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    let valid = """
        [bundle]
        name = "hello"
        version = "1.0.0"

        [layers.native]
        path = "native"
        compression = "zstd"
        level = 19

        [layers.scripts]
        path = "scripts"
        compression = "xz"

        [entries.hello]
        exec = ["{native}/hello", "{{x}}"]
        env = { HELLO_HOME = "{native}", B = "1" }
        default = true

        [entries.greet]
        exec = ["/bin/sh", "{scripts}/greet.sh"]
        layers = ["native"]
        """

    func parse(_ text: String) throws -> BundleSpec {
        try BundleSpec.parse(toml: text, baseDirectory: dir, fileName: "s.toml")
    }

    func assertError(_ text: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.hasPrefix("s.toml: "), msg, file: file, line: line)
            XCTAssertTrue(msg.contains(needle), "'\(msg)' should contain '\(needle)'", file: file, line: line)
            XCTAssertFalse(msg.contains("\n"), msg, file: file, line: line)
        }
    }

    func testValidSpec() throws {
        let s = try parse(valid)
        XCTAssertEqual(s.name, "hello")
        XCTAssertEqual(s.layers.map(\.name), ["native", "scripts"])
        XCTAssertEqual(s.layers[0].directory, dir + "/native")
        XCTAssertEqual(s.layers[0].level, 19)
        XCTAssertEqual(s.layers[1].codec, .xz)
        XCTAssertEqual(s.layers[1].level, Codec.xz.defaultLevel)
        XCTAssertEqual(s.entries.map(\.name), ["greet", "hello"])
        XCTAssertEqual(s.entries[0].layers, ["native", "scripts"])
        XCTAssertEqual(s.entries[1].env.map(\.key), ["B", "HELLO_HOME"])
        XCTAssertTrue(s.entries[1].isDefault)
        XCTAssertFalse(s.entries[0].isDefault)
        XCTAssertEqual(s.layers.map(\.filter), [.none, .none], "no filter unless the spec asks")
        let filtered = try parse(valid.replacingOccurrences(of: "level = 19", with: "level = 19\nfilter = \"x86\""))
        XCTAssertEqual(filtered.layers.map(\.filter), [.x86, .none])
        let arm64 = try parse(valid.replacingOccurrences(of: "level = 19", with: "level = 19\nfilter = \"arm64\""))
        XCTAssertEqual(arm64.layers.map(\.filter), [.arm64, .none])
    }

    func testTableOrderDoesNotMatter() throws {
        let parts = valid.components(separatedBy: "\n\n")
        XCTAssertEqual(try parse(parts.reversed().joined(separator: "\n\n")), try parse(valid))
    }

    func testAbsolutePathAndLoadFromFile() throws {
        let text = valid.replacingOccurrences(of: "path = \"native\"", with: "path = \"\(dir)/native/../native\"")
        try text.write(toFile: dir + "/s.toml", atomically: true, encoding: .utf8)
        let s = try BundleSpec.load(path: dir + "/s.toml")
        XCTAssertEqual(s.layers[0].directory, dir + "/native")
        XCTAssertThrowsError(try BundleSpec.load(path: dir + "/missing.toml")) {
            XCTAssertTrue("\($0)".contains("cannot read spec"))
        }
    }

    func testWithCompression() throws {
        let s = try parse(valid).withCompression(.none, level: nil)
        XCTAssertEqual(s.layers.map(\.codec), [.none, .none])
        XCTAssertEqual(try parse(valid).withCompression(.zlib, level: 3).layers.map(\.level), [3, 3])
    }

    func testSingleEntryBecomesDefault() throws {
        let s = try parse(
            "[bundle]\nname = \"a\"\nversion = \"1\"\n[layers.l]\npath = \"native\"\n[entries.e]\nexec = [\"{l}/x\"]\n")
        XCTAssertTrue(s.entries[0].isDefault)
    }

    /// `frame-size`: bytes, or a number of KiB or MiB, from 64 KiB to 16 MiB; 8 MiB when absent.
    func testFrameSize() throws {
        XCTAssertEqual(try parse(valid).layers.map(\.frameSize), [8 << 20, 8 << 20])
        let accepted: [(String, Int)] = [
            ("\"8MiB\"", 8 << 20), ("\"512KiB\"", 512 << 10), ("65536", 65536), ("\"65536\"", 65536),
            ("\"16MiB\"", 16 << 20), ("\"64KiB\"", 64 << 10), ("16777216", 16 << 20),
        ]
        for (value, bytes) in accepted {
            let spec = try parse(
                valid.replacingOccurrences(of: "level = 19", with: "level = 19\nframe-size = \(value)"))
            XCTAssertEqual(spec.layers.map(\.frameSize), [bytes, 8 << 20], value)
        }
        for value in [
            "\"63KiB\"", "65535", "\"17MiB\"", "16777217", "0", "-1", "\"0MiB\"", "\"8 GiB\"", "\"1.5MiB\"", "\"MiB\"",
            "\"abc\"", "true",
        ] {
            assertError(
                valid.replacingOccurrences(of: "level = 19", with: "level = 19\nframe-size = \(value)"),
                "layers.native.frame-size")
        }
    }

    func testErrorsNameTheKey() {
        let head = "[bundle]\nname = \"a\"\nversion = \"1\"\n[layers.l]\npath = \"native\"\n"
        assertError(valid + "\n[other]\nx = 1\n", "other: unknown key")
        assertError(
            valid.replacingOccurrences(of: "version = \"1.0.0\"", with: "version = \"1.0.0\"\ncolour = 1"),
            "bundle.colour: unknown key")
        assertError(
            valid.replacingOccurrences(of: "version = \"1.0.0\"", with: "version = 1"),
            "bundle.version: expected a string, found an integer")
        assertError(valid.replacingOccurrences(of: "name = \"hello\"", with: "name = \"he llo\""), "bundle.name")
        assertError(
            valid.replacingOccurrences(of: "path = \"native\"", with: "path = \"nope\""),
            "layers.native.path: directory not found")
        assertError(
            valid.replacingOccurrences(of: "compression = \"xz\"", with: "compression = \"lz4\""),
            "layers.scripts.compression")
        assertError(
            valid.replacingOccurrences(of: "level = 19", with: "level = 30"), "layers.native.level: 30 is outside")
        assertError(
            valid.replacingOccurrences(of: "level = 19", with: "level = 19\nfilter = \"sparc\""),
            "layers.native.filter: 'sparc' is not one of none, x86, arm64")
        assertError(
            valid.replacingOccurrences(of: "level = 19", with: "level = 19\nfilter = 1"),
            "layers.native.filter: expected a string")
        assertError(
            valid.replacingOccurrences(of: "level = 19", with: "level = \"high\""),
            "layers.native.level: expected an integer")
        assertError(
            head + "compression = \"none\"\nlevel = 1\n[entries.e]\nexec = [\"x\"]\n",
            "layers.l.level: compression 'none' takes no level")
        assertError(
            valid.replacingOccurrences(of: "{native}/hello", with: "{nat}/hello"),
            "entries.hello.exec[0]: unknown placeholder {nat}")
        assertError(
            valid.replacingOccurrences(of: "{native}/hello", with: "{native/hello"),
            "entries.hello.exec[0]: malformed placeholder")
        assertError(
            valid.replacingOccurrences(of: "HELLO_HOME = \"{native}\"", with: "HELLO_HOME = \"{zz}\""),
            "entries.hello.env.HELLO_HOME: unknown placeholder")
        assertError(
            valid.replacingOccurrences(of: "B = \"1\"", with: "\"1B\" = \"1\""),
            "entries.hello.env.1B: invalid environment variable name")
        assertError(
            valid.replacingOccurrences(of: "layers = [\"native\"]", with: "layers = [\"python\"]"),
            "entries.greet.layers[0]: no layer named 'python'")
        assertError(
            valid.replacingOccurrences(of: "layers = [\"native\"]", with: "default = true"), "two default entries")
        assertError(
            valid.replacingOccurrences(of: "exec = [\"/bin/sh\", \"{scripts}/greet.sh\"]", with: "exec = \"/bin/sh\""),
            "entries.greet.exec: expected an array of strings")
        assertError(
            valid.replacingOccurrences(of: "exec = [\"/bin/sh\", \"{scripts}/greet.sh\"]", with: "exec = []"),
            "entries.greet.exec: must name a program")
        assertError(
            valid.replacingOccurrences(of: "default = true", with: "default = \"yes\""),
            "entries.hello.default: expected a boolean")
        assertError(head, "entries: missing table")
        assertError("[bundle\nname=", "line 1")
    }
}
