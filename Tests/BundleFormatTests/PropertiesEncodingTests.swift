import XCTest
import TestSupport
@testable import BundleFormat

/// The properties after the target in the manifest header (docs/format.md, "Properties"): one
/// encoding per header, refused byte by byte by the reader otherwise.
final class PropertiesEncodingTests: XCTestCase {
    let fx = Fx.manifest()

    /// The fixture's header (app `my-app.x`, no target field) followed by `target` and, when given,
    /// `count` and the raw (key, value) strings: a header written by hand.
    func header(target: String? = "linux-x64", count: UInt32? = nil, _ pairs: [(String, String)] = []) -> [UInt8] {
        var w = ByteWriter()
        if let target { w.string(target) }
        if let count { w.u32(count) }
        for (k, v) in pairs {
            w.string(k)
            w.string(v)
        }
        return fx.manifest.encoded() + w.bytes
    }

    let all = BundleProperties(
        environmentPrefix: "MYAPP_LAUNCHER", cacheName: "my-app.x-launcher", description: "An app, in one line ü",
        homepage: "https://example.org/app", license: "Apache-2.0 OR MIT", vendor: "Example Ltd",
        icon: "{base}/share/icon.png")

    func testEveryPropertyRoundTripsInKeyOrderAfterTheTarget() throws {
        var m = fx.manifest
        m.properties = all
        let bytes = m.encoded()
        let expected = header(
            count: 7,
            [
                ("cache-name", "my-app.x-launcher"), ("description", "An app, in one line ü"),
                ("env-prefix", "MYAPP_LAUNCHER"), ("homepage", "https://example.org/app"),
                ("icon", "{base}/share/icon.png"), ("license", "Apache-2.0 OR MIT"), ("vendor", "Example Ltd"),
            ])
        XCTAssertEqual(bytes, expected, "the target (linux-x64 included), the count, then keys ascending")
        let decoded = try fx.decode(bytes)
        XCTAssertEqual(decoded, m)
        XCTAssertEqual(decoded.encoded(), bytes)
        XCTAssertEqual(decoded.environmentPrefix, "MYAPP_LAUNCHER")
        XCTAssertEqual(decoded.cacheName, "my-app.x-launcher")
        // Another target: the same properties after its name.
        m.target = .linuxArm64
        XCTAssertEqual(try fx.decode(m.encoded()), m)
        XCTAssertEqual(try fx.decode(m.encoded()).target, .linuxArm64)
    }

    func testOnePropertyAndNoneKeepTheirEncodings() throws {
        var m = fx.manifest
        XCTAssertEqual(m.encoded(), header(target: nil), "without properties: no target field, as before them")
        XCTAssertEqual(m.environmentPrefix, "MY_APP_X", "no env-prefix: the app name's")
        XCTAssertEqual(m.cacheName, "my-app.x", "no cache-name: the app name")
        m.properties.license = "MIT"
        XCTAssertEqual(m.encoded(), header(count: 1, [("license", "MIT")]))
        XCTAssertEqual(try fx.decode(m.encoded()), m)
    }

    func testRefusedCountsAndStrayBytes() {
        assertBundleError(try fx.decode(header(count: 0)), .badManifest, mentions: "property count of 0")
        let seventeen = (0..<17).map { ("license", "MIT" + String($0)) }
        assertBundleError(
            try fx.decode(header(count: 17, seventeen)), .tooLarge,
            mentions: "property count is 17, over the limit of 16")
        // The count promises more than follows.
        assertBundleError(try fx.decode(header(count: 2, [("license", "MIT")])), .truncated)
        // Nothing may follow the properties.
        assertBundleError(
            try fx.decode(header(count: 1, [("license", "MIT")]) + [0]), .badManifest,
            mentions: "1 unexpected bytes after the properties")
        // linux-x64 is written only when properties follow it.
        assertBundleError(try fx.decode(header()), .badManifest, mentions: "linux-x64", "leaving the field out")
    }

    func testRefusedKeys() {
        assertBundleError(
            try fx.decode(header(count: 1, [("colour", "red")])), .badManifest, mentions: "unknown property 'colour'")
        assertBundleError(
            try fx.decode(header(count: 1, [("License", "MIT")])), .badManifest, mentions: "unknown property")
        assertBundleError(
            try fx.decode(header(count: 2, [("license", "MIT"), ("homepage", "https://x.org")])), .badManifest,
            mentions: "'homepage' is out of order")
        assertBundleError(
            try fx.decode(header(count: 2, [("license", "MIT"), ("license", "MIT")])), .badManifest,
            mentions: "'license' is out of order or repeated")
        assertBundleError(
            try fx.decode(header(count: 1, [("colour\u{1b}[2J", "x")])), .badManifest, mentions: "colour\\x1b[2J")
    }

    /// A property equal to its default is written by leaving it out: the app name's prefix and name.
    func testDefaultsAreWrittenByLeavingThemOut() {
        assertBundleError(
            try fx.decode(header(count: 1, [("env-prefix", "MY_APP_X")])), .badManifest,
            mentions: "equal to its default")
        assertBundleError(
            try fx.decode(header(count: 1, [("cache-name", "my-app.x")])), .badManifest,
            mentions: "equal to its default")
    }

    func testRefusedValues() {
        let bad: [(String, String, String)] = [
            ("env-prefix", "lower", "A-Z 0-9 _"), ("env-prefix", "1ABC", "starting with a letter"),
            ("env-prefix", "ABC_", "not ending with _"), ("env-prefix", "", "1-"),
            ("cache-name", "../x", "A-Z a-z 0-9"), ("cache-name", "a/b", "A-Z a-z 0-9"),
            ("description", "two\nlines", "one line"), ("description", "", "1-1024"),
            ("vendor", "\u{202E}evil", "control characters"),
            ("homepage", "ftp://example.org", "http:// or https://"), ("homepage", "https://a b", "without spaces"),
            ("homepage", "https://", "URL"),
            ("license", "MIT OR", "SPDX"), ("license", "(MIT", "SPDX"), ("license", "MIT MIT", "SPDX"),
            ("license", "", "SPDX"),
            ("icon", "share/icon.png", "{layer}/path"), ("icon", "{nope}/icon.png", "names no layer"),
            ("icon", "{base}/../x", "{layer}/path"), ("icon", "{base}/", "{layer}/path"),
        ]
        for (key, value, needle) in bad {
            assertBundleError(
                try fx.decode(header(count: 1, [(key, value)])), .badManifest, mentions: "property \(key)", needle)
        }
        // Accepted shapes.
        for (key, value) in [
            ("license", "GPL-2.0-only WITH Classpath-exception-2.0"),
            ("license", "(MIT OR Apache-2.0) AND BSD-3-Clause"),
            ("license", "LicenseRef-Proprietary"), ("license", "GPL-2.0+"), ("homepage", "http://x.org"),
            ("env-prefix", "A"), ("cache-name", "0cache"),
        ] {
            XCTAssertNoThrow(try fx.decode(header(count: 1, [(key, value)])), "\(key) = \(value)")
        }
    }

    /// The launcher's own variables follow the prefix: an entry may set the app-named ones when the
    /// prefix is another, and may not set `<PREFIX>_ENTRY` or `<PREFIX>_BUNDLE_*`.
    func testEntryRulesFollowTheEnvironmentPrefix() throws {
        var m = fx.manifest
        m.entries[0].env = [.init(key: "MY_APP_X_ENTRY", value: "x")]
        assertBundleError(try fx.decode(m.encoded()), .badEntry, mentions: "MY_APP_X_ENTRY")
        m.properties.environmentPrefix = "MYAPP_LAUNCHER"
        XCTAssertEqual(try fx.decode(m.encoded()), m, "MY_APP_X_ENTRY is the app's when the prefix is another")
        m.entries[0].env = [.init(key: "MYAPP_LAUNCHER_BUNDLE_EXE", value: "x")]
        assertBundleError(try fx.decode(m.encoded()), .badEntry, mentions: "MYAPP_LAUNCHER_BUNDLE_EXE")
    }
}
