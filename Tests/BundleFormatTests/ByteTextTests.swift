import XCTest
@testable import BundleFormat

/// The launcher's text helpers (ByteText.swift): everything by UTF-8 bytes, never by Unicode
/// equivalence, so two different byte strings never compare equal and order is byte order.
final class ByteTextTests: XCTestCase {
    /// "é" precomposed (NFC, C3 A9) and decomposed (NFD, 65 CC 81): one text to Swift's `==`,
    /// two names to the kernel and to the launcher.
    let nfc = "\u{E9}"
    let nfd = "e\u{301}"

    func testEqualityIsByBytes() {
        XCTAssertEqual(nfc, nfd, "Swift's String == is canonical equivalence")
        XCTAssertFalse(nfc.bytesEqual(nfd))
        XCTAssertTrue(nfc.bytesEqual("\u{E9}"))
        XCTAssertTrue("".bytesEqual(""))
        XCTAssertFalse("a".bytesEqual("a\u{0}"))
        XCTAssertTrue(["x", nfc].containsBytes(nfc))
        XCTAssertFalse(["x", nfc].containsBytes(nfd))
    }

    func testPrefixAndSuffixAreByBytes() {
        XCTAssertTrue("/usr/bin".hasBytePrefix("/"))
        XCTAssertTrue("abc".hasBytePrefix(""))
        XCTAssertFalse("ab".hasBytePrefix("abc"))
        XCTAssertFalse("\(nfc)x".hasBytePrefix(nfd))
        // A prefix of the bytes that is not a whole Character still counts: bytes, not graphemes.
        XCTAssertFalse("\(nfd)x".hasPrefix("e"), "String.hasPrefix compares Characters")
        XCTAssertTrue("\(nfd)x".hasBytePrefix("e"))
        XCTAssertTrue("/x (deleted)".hasByteSuffix(" (deleted)"))
        XCTAssertFalse("d)".hasByteSuffix(" (deleted)"))
        XCTAssertTrue("x\r".hasByteSuffix("\r"))
        XCTAssertTrue("a\r\n".hasByteSuffix("\n"), "\\r\\n is one Character, but two bytes")
        XCTAssertEqual("./bin/x".droppingBytePrefix("./"), "bin/x")
        XCTAssertNil("bin/x".droppingBytePrefix("./"))
        XCTAssertEqual("trusted comment: \(nfd)".droppingBytePrefix("trusted comment: "), nfd)
    }

    func testOrderIsByteOrder() {
        XCTAssertTrue("B".bytesPrecede("a"))
        XCTAssertTrue("a".bytesPrecede("ab"))
        XCTAssertFalse("a".bytesPrecede("a"))
        // 65 CC 81 < C3 A9: the decomposed form sorts first, by its bytes.
        XCTAssertTrue(nfd.bytesPrecede(nfc))
        XCTAssertFalse(nfc.bytesPrecede(nfd))
        XCTAssertEqual(
            ["z", nfc, "a", nfd, "Z"].sortedByBytes().map { Array($0.utf8) },
            [
                Array("Z".utf8), Array("a".utf8), Array(nfd.utf8), Array("z".utf8), Array(nfc.utf8),
            ])
    }

    func testSplitAtAnASCIIByte() {
        XCTAssertEqual("/var/cache//app/".splitBytes(at: UInt8(ascii: "/")), ["var", "cache", "app"])
        XCTAssertEqual(
            "/usr/bin::/bin".splitBytes(at: UInt8(ascii: ":"), omittingEmpty: false), ["/usr/bin", "", "/bin"])
        XCTAssertEqual("".splitBytes(at: UInt8(ascii: ":"), omittingEmpty: false), [""])
        XCTAssertEqual("".splitBytes(at: UInt8(ascii: ":")), [])
        // "\r\n" is one Character, so splitting Characters at "\n" would not split it.
        XCTAssertEqual("a\r\nb\n".splitBytes(at: UInt8(ascii: "\n"), omittingEmpty: false), ["a\r", "b", ""])
        let pieces = "\(nfc),\(nfd),日本".splitBytes(at: UInt8(ascii: ","))
        XCTAssertEqual(pieces.map { Array($0.utf8) }, [Array(nfc.utf8), Array(nfd.utf8), Array("日本".utf8)])
    }

    func testTrimmingAndShortening() {
        XCTAssertEqual(" \t RWQ= \r\n".trimmingASCIISpaces(), "RWQ=")
        XCTAssertEqual(" \n\r\t ".trimmingASCIISpaces(), "")
        XCTAssertEqual("a b".trimmingASCIISpaces(), "a b")
        // A no-break space is not an ASCII space: kept.
        XCTAssertEqual("\u{A0}x\u{A0}".trimmingASCIISpaces(), "\u{A0}x\u{A0}")
        XCTAssertEqual("e\u{301}".prefixScalars(1), "e")
        XCTAssertEqual("0123456789abcdef0123".prefixScalars(16), "0123456789abcdef")
        XCTAssertTrue("abc.tmp.1".containsBytes(".tmp."))
        XCTAssertTrue("abc".containsBytes(""))
        XCTAssertFalse("\(nfc).tmp".containsBytes(nfd))
    }
}
