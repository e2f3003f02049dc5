import XCTest
import TestSupport
@testable import BundleFormat

/// PathRules, Placeholders, Names, env names, codecs, the byte reader and writer,
/// the signature block and the key slot.
final class RulesTests: XCTestCase {
    // MARK: PathRules

    /// The rule a path breaks (the internal `Violation`; callers see `BundleError(.badPath)`).
    func violation(_ path: [UInt8]) -> PathRules.Violation? {
        do { try PathRules.rule(path); return nil } catch { return error }
    }
    func violation(_ path: String) -> PathRules.Violation? { violation(Array(path.utf8)) }
    func linkViolation(_ path: String, _ target: String) -> PathRules.Violation? {
        do { try PathRules.symlinkRule(path: Array(path.utf8), target: Array(target.utf8)); return nil } catch {
            return error
        }
    }

    func testPathRulesAccepted() {
        let good = [
            "a", "a/b", "a/b/c.txt", "...", "..a", "a..", ".a", "a/.b", "a/...", "-", " ", "a b/c d",
            "résumé", "日本語/ファイル", "a/.dgmo-layer", ".dgmo-layer2", "x.dgmo-layer", "😀",
            String(repeating: "x", count: 255), String(repeating: "x/", count: 2047) + "xx",
        ]
        for p in good { XCTAssertNil(violation(p), p) }
        XCTAssertEqual((String(repeating: "x/", count: 2047) + "xx").utf8.count, Limits.maxPathLength)
        XCTAssertNoThrow(try PathRules.check("a/b"))
    }

    func testPathRulesRefused() {
        let cases: [(String, PathRules.Violation)] = [
            ("", .empty),
            ("/", .absolute), ("/a", .absolute), ("//a", .absolute), ("/etc/passwd", .absolute),
            (".", .dotComponent), ("..", .dotComponent), ("./a", .dotComponent), ("../x", .dotComponent),
            ("a/..", .dotComponent), ("a/../b", .dotComponent), ("a/./b", .dotComponent), ("a//b", .dotComponent),
            ("a/", .dotComponent), ("a/.", .dotComponent),
            (".dgmo-layer", .reserved), (".dgmo-layer/x", .reserved),
            (String(repeating: "x", count: 256), .componentTooLong),
            ("a/" + String(repeating: "x", count: 256), .componentTooLong),
            (String(repeating: "x/", count: 2048) + "x", .tooLong),
            (String(repeating: "x", count: Limits.maxPathLength + 1), .tooLong),
        ]
        for (p, v) in cases { XCTAssertEqual(violation(p), v, p) }
        XCTAssertEqual(violation([0x61, 0x00, 0x62]), .nul)
        XCTAssertEqual(violation([0x00]), .nul)
        for bad: [UInt8] in [
            [0xFF], [0x61, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
        ] {
            XCTAssertEqual(violation(bad), .invalidUTF8, "\(bad)")
        }
        // Outside the module a violation is a BundleError whose message is the rule's description.
        XCTAssertThrowsError(try PathRules.check("../x")) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badPath)
            XCTAssertEqual(($0 as? BundleError)?.message, PathRules.Violation.dotComponent.description)
        }
    }

    func testViolationDescriptions() {
        XCTAssertEqual("\(PathRules.Violation.reserved)", "path uses the reserved name '.dgmo-layer'")
        XCTAssertTrue(PathRules.Violation.tooLong.description.contains("4096"))
        XCTAssertTrue(PathRules.Violation.componentTooLong.description.contains("255"))
        XCTAssertEqual(PathRules.markerName, ".dgmo-layer")
    }

    func testSymlinkRules() {
        let ok: [(String, String)] = [
            ("l", "x"), ("l", "."), ("l", "./x"), ("l", "a/b"), ("l", "a//b/"),
            ("a/l", ".."), ("a/l", "../x"), ("a/l", "../a/./x"),
            ("a/b/l", "../../x"), ("a/b/l", "../.."), ("a/b/l", "../"), ("a/b/l", "./../../x/y"),
        ]
        for (p, t) in ok { XCTAssertNil(linkViolation(p, t), "\(p) -> \(t)") }
        let escaping: [(String, String)] = [
            ("l", ".."), ("l", "../x"), ("l", "../"), ("l", "/etc/passwd"), ("l", "/"),
            ("a/l", "../../x"), ("a/l", "a/../../x"), ("a/b/l", "../../../x"),
            // `..` may only lead: after any downward step it is refused, even if it would stay inside.
            ("l", "b/../x"), ("a/l", "b/../x"), ("a/l", "../b/../x"), ("l", "x/.."), ("a/b/l", "../c/.."),
        ]
        for (p, t) in escaping { XCTAssertEqual(linkViolation(p, t), .symlinkEscapes, "\(p) -> \(t)") }
        XCTAssertEqual(linkViolation("l", ""), .empty)
        XCTAssertEqual(linkViolation("l", String(repeating: "t", count: Limits.maxPathLength + 1)), .tooLong)
        XCTAssertNil(linkViolation("l", String(repeating: "t", count: Limits.maxPathLength)))
        XCTAssertThrowsError(try PathRules.checkSymlink(path: [0x6C], target: [0x61, 0x00])) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badPath)
            XCTAssertEqual(($0 as? BundleError)?.message, PathRules.Violation.nul.description)
        }
    }

    // MARK: Placeholders

    func problem(_ template: String) -> BundleError? {
        do { _ = try Placeholders.parse(template); return nil } catch { return error }
    }

    func testPlaceholderParse() throws {
        typealias P = Placeholders.Piece
        func lit(_ s: String) -> P { .literal(Array(s.utf8)) }
        XCTAssertEqual(try Placeholders.parse(""), [])
        XCTAssertEqual(try Placeholders.parse("plain"), [lit("plain")])
        XCTAssertEqual(try Placeholders.parse("{{"), [lit("{")])
        XCTAssertEqual(try Placeholders.parse("}}"), [lit("}")])
        XCTAssertEqual(try Placeholders.parse("{{}}"), [lit("{}")])
        XCTAssertEqual(try Placeholders.parse("a{{b}}c"), [lit("a{b}c")])
        XCTAssertEqual(try Placeholders.parse("{a}"), [.placeholder("a")])
        XCTAssertEqual(
            try Placeholders.parse("x{a}y{b-c.d}"), [lit("x"), .placeholder("a"), lit("y"), .placeholder("b-c.d")])
        XCTAssertEqual(try Placeholders.parse("{a}{b}"), [.placeholder("a"), .placeholder("b")])
        XCTAssertEqual(try Placeholders.parse("{{{a}}}"), [lit("{"), .placeholder("a"), lit("}")])
        XCTAssertEqual(try Placeholders.parse("{é}/ü"), [.placeholder("é"), lit("/ü")])
    }

    func testPlaceholderProblems() {
        // Which of the three problems: the message says it (the builder and the launcher print it as it is).
        let cases: [(String, String)] = [
            ("{a", "unterminated"), ("{", "unterminated"), ("x{", "unterminated"), ("{a}{b", "unterminated"),
            ("{}", "empty"), ("a{}b", "empty"),
            ("}", "stray"), ("a}b", "stray"), ("}}}", "stray"), ("{a}}", "stray"), ("{{a}", "stray"),
        ]
        for (template, kind) in cases {
            XCTAssertEqual(problem(template)?.code, .badPlaceholder, template)
            XCTAssertTrue(
                problem(template)?.message.hasPrefix(kind) == true,
                "\(template): \(problem(template)?.message ?? "accepted")")
        }
        XCTAssertThrowsError(try Placeholders.names(in: "{a")) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badPlaceholder)
        }
        XCTAssertThrowsError(try Placeholders.substitute("}", { $0 })) {
            XCTAssertEqual(($0 as? BundleError)?.code, .badPlaceholder)
        }
    }

    func testPlaceholderNames() throws {
        XCTAssertEqual(try Placeholders.names(in: "{a}/x/{b}{a}"), ["a", "b"])
        XCTAssertEqual(try Placeholders.names(in: "{{a}} plain"), [])
        XCTAssertEqual(try Placeholders.names(in: ""), [])
    }

    func testPlaceholderSubstitute() throws {
        let paths = ["base": "/c/layers/abc", "py": "/c/layers/d ef"]
        XCTAssertEqual(
            try Placeholders.substitute("{base}/bin/{py}", { paths[$0] }), "/c/layers/abc/bin//c/layers/d ef")
        XCTAssertEqual(try Placeholders.substitute("{{base}} {base}", { paths[$0] }), "{base} /c/layers/abc")
        XCTAssertEqual(try Placeholders.substitute("no placeholders }} {{", { _ in nil }), "no placeholders } {")
        XCTAssertEqual(try Placeholders.substitute("", { _ in nil }), "")
        XCTAssertNil(try Placeholders.substitute("{zz}", { paths[$0] }))
        XCTAssertNil(try Placeholders.substitute("{base}/{zz}", { paths[$0] }))
        // A substituted value is inserted as is: braces in it are not parsed again.
        XCTAssertEqual(try Placeholders.substitute("{a}", { _ in "{b}}" }), "{b}}")
    }

    // MARK: Names and env names

    func testNames() {
        for good in [
            "a", "A", "0", "dgmo", "my-app.x", "A_1", "a.b-c_d", "9lives", String(repeating: "a", count: 64), "a-",
            "a.",
        ] {
            XCTAssertTrue(Names.isValid(good), good)
        }
        for bad in [
            "", "-a", ".a", "_a", "a b", "a/b", "a\\b", "a:b", "a{b}", String(repeating: "a", count: 65), "ü", "aü",
            "a\0", "a\n", "~",
        ] {
            XCTAssertFalse(Names.isValid(bad), bad)
        }
    }

    func testEnvironmentPrefix() {
        XCTAssertEqual(Names.environmentPrefix("my-app.x"), "MY_APP_X")
        XCTAssertEqual(Names.environmentPrefix("hello"), "HELLO")
        XCTAssertEqual(Names.environmentPrefix("my-app"), "MY_APP")
        XCTAssertEqual(Names.environmentPrefix("A_b9.Z"), "A_B9_Z")
        XCTAssertEqual(Names.environmentPrefix("a..b--c"), "A__B__C")
    }

    func testEnvNames() {
        for good in ["A", "_", "_A1", "a", "PATH", "LD_LIBRARY_PATH", "x9_y", "Z", "z"] {
            XCTAssertTrue(Manifest.isValidEnvName(good), good)
        }
        // Includes the bytes next to the letter ranges: '@' '[' '`' '{', and bytes that OR 0x20 would map into a-z.
        for bad in [
            "", "1A", "9", "A-B", "A B", "A=B", "A.B", "@", "[", "`", "{", "A@", "A[", "A`", "A{", "É", "aé", "A\0",
            "$X",
        ] {
            XCTAssertFalse(Manifest.isValidEnvName(bad), bad)
        }
        for b in UInt8(0)...UInt8(127) {
            let s = String(decoding: [b], as: UTF8.self)
            let expected = b == 0x5F || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            XCTAssertEqual(Manifest.isValidEnvName(s), expected, "byte \(b)")
            let expectedTail = expected || (b >= 0x30 && b <= 0x39)
            XCTAssertEqual(Manifest.isValidEnvName("A" + s), expectedTail, "A + byte \(b)")
        }
    }

    // MARK: Codec

    func testCodec() {
        XCTAssertEqual(Codec.allCases.map(\.rawValue), [0, 1, 2, 3])
        for c in Codec.allCases { XCTAssertEqual(Codec(name: c.name), c) }
        XCTAssertNil(Codec(name: "gzip"))
        XCTAssertNil(Codec(name: "ZSTD"))
        XCTAssertNil(Codec(rawValue: 4))
        XCTAssertNil(Codec.none.levelRange)
        for c in Codec.allCases where c != .none { XCTAssertTrue(c.levelRange!.contains(c.defaultLevel), c.name) }
    }

    // MARK: ByteReader / ByteWriter

    func testByteWriterAndReader() throws {
        var w = ByteWriter()
        w.u8(0xAB); w.u32(0x0102_0304); w.u64(0x0102_0304_0506_0708); w.string("hé"); w.raw([9, 9])
        XCTAssertEqual(w.bytes, [0xAB, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 3, 0, 0, 0, 0x68, 0xC3, 0xA9, 9, 9])
        var r = ByteReader(w.bytes, what: "thing", code: .badManifest)
        XCTAssertEqual(try r.u8(), 0xAB)
        XCTAssertEqual(try r.u32(), 0x0102_0304)
        XCTAssertEqual(try r.u64(), 0x0102_0304_0506_0708)
        XCTAssertEqual(try r.string(field: "s"), "hé")
        XCTAssertEqual(r.remaining, 2)
        XCTAssertEqual(try r.raw(2), [9, 9])
        XCTAssertTrue(r.isAtEnd)
        assertBundleError(try r.u8(), .truncated, mentions: "thing is truncated at byte 22")
        assertBundleError(try r.raw(-1), .truncated)
        XCTAssertEqual(try r.raw(0), [])

        var big = ByteReader([0xFF, 0xFF, 0xFF, 0xFF], what: "x", code: .badManifest)
        assertBundleError(
            try big.count(limit: 10, field: "n"), .tooLarge, mentions: "x: n is 4294967295, over the limit of 10")
        var s = ByteReader([5, 0, 0, 0, 0x61], what: "x", code: .badManifest)
        assertBundleError(try s.bytes(limit: 4, field: "f"), .tooLarge, mentions: "f is 5 bytes, over the limit of 4")
        s = ByteReader([5, 0, 0, 0, 0x61], what: "x", code: .badManifest)
        assertBundleError(try s.bytes(limit: 10, field: "f"), .truncated)
        var p = [UInt8]([1, 0, 0, 0, 0x61]).withUnsafeBytes { ByteReader($0, what: "p", code: .badManifest) }
        XCTAssertEqual(try p.string(field: "f"), "a")
        // Partial reads of fixed-size integers.
        for n in 0..<8 {
            var q = ByteReader([UInt8](repeating: 1, count: n), what: "q", code: .badManifest)
            assertThrowsBundleError(try q.u64())
            if n < 4 {
                var q4 = ByteReader([UInt8](repeating: 1, count: n), what: "q", code: .badManifest);
                assertThrowsBundleError(try q4.u32())
            }
        }
    }

    // MARK: Signature block

    func testSignatureBlock() throws {
        let s = SignatureBlock(keyID: Fx.keyID, signature: (0..<64).map { UInt8($0) })
        let bytes = s.encoded()
        XCTAssertEqual(bytes.count, SignatureBlock.size)
        XCTAssertEqual(Array(bytes.prefix(2)), Array("ED".utf8))
        XCTAssertEqual(Array(bytes[2..<10]), Fx.keyID)
        XCTAssertEqual(try SignatureBlock(decoding: bytes), s)
        XCTAssertEqual(try bytes.withUnsafeBytes { try SignatureBlock(decoding: $0) }, s)

        for n in [0, 1, 2, 10, 73, 75, 4096] {
            let b = n <= 74 ? Array(bytes.prefix(n)) : bytes + [UInt8](repeating: 0, count: n - 74)
            assertBundleError(
                try SignatureBlock(decoding: b), .badSignature, mentions: "signature block is \(n) bytes, expected 74")
        }
        // "Ed" is minisign's non-prehashed algorithm, refused like anything else.
        for (i, v) in [(0, UInt8(0x65)), (1, UInt8(0x64)), (0, 0), (1, 0)] {
            assertBundleError(try SignatureBlock(decoding: bytes.setting(i, v)), .badSignature)
        }
    }

    // MARK: Key slot

    func testKeySlotRoundTrips() throws {
        let key = Array("Ed".utf8) + Fx.keyID + [UInt8](repeating: 0x5A, count: 32)
        XCTAssertEqual(key.count, KeySlot.keyLength)
        for slot in [KeySlot.empty, .unsigned, .pinned(keyBytes: key)] {
            let b = slot.encoded()
            XCTAssertEqual(b.count, KeySlot.size)
            XCTAssertEqual(Array(b.prefix(32)), KeySlot.marker)
            XCTAssertEqual(b[33], 0)
            XCTAssertTrue(b[76...].allSatisfy { $0 == 0 })
            XCTAssertEqual(try KeySlot(decoding: b), slot)
            XCTAssertEqual(try b.withUnsafeBytes { try KeySlot(decoding: $0) }, slot)
        }
        XCTAssertEqual(KeySlot.empty.encoded()[32], 0)
        XCTAssertEqual(KeySlot.pinned(keyBytes: key).encoded()[32], 1)
        XCTAssertEqual(KeySlot.unsigned.encoded()[32], 2)
        XCTAssertEqual(Array(KeySlot.pinned(keyBytes: key).encoded()[34..<76]), key)
        XCTAssertTrue(KeySlot.empty.encoded()[33...].allSatisfy { $0 == 0 })
        XCTAssertEqual(String(decoding: KeySlot.marker, as: UTF8.self), "DGMO-BUNDLE-KEY-SLOT-V1-7f3c9ae1")
    }

    func testKeySlotRejections() {
        let key = Array("Ed".utf8) + [UInt8](repeating: 3, count: 40)
        let pinned = KeySlot.pinned(keyBytes: key).encoded()
        for i in [0, 5, 31] {
            assertBundleError(try KeySlot(decoding: pinned.setting(i, pinned[i] ^ 1)), .badKey)
        }
        for n in [0, 31, 32, 33, 75, 95] {
            assertBundleError(try KeySlot(decoding: Array(pinned.prefix(n))), .badKey, context: "prefix \(n)")
        }
        for state: UInt8 in [3, 0x80, 0xFF] {
            assertBundleError(
                try KeySlot(decoding: pinned.setting(32, state)), .badKey, mentions: "unknown state \(state)")
        }
        assertBundleError(try KeySlot(decoding: pinned.setting(34, 0x65)), .badKey)
        assertBundleError(try KeySlot(decoding: pinned.setting(35, 0x44)), .badKey)
        // State 1 on an empty slot: the all-zero key is not an Ed25519 key.
        assertBundleError(try KeySlot(decoding: KeySlot.empty.encoded().setting(32, 1)), .badKey)
    }
}
