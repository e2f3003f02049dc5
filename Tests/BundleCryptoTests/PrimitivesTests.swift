import XCTest
import BundleCrypto

/// Digests, encodings and key-id display, without the minisign CLI.
final class PrimitivesTests: XCTestCase {
    func testBlake2bKnownAnswers() {
        // python3 -c 'import hashlib; print(hashlib.blake2b(b"", digest_size=32).hexdigest())' and friends
        XCTAssertEqual(
            Hex.encode(Blake2b.hash([UInt8]())),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        XCTAssertEqual(
            Hex.encode(Blake2b.hash([UInt8](), outputLength: 64)),
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"
        )
        XCTAssertEqual(
            Hex.encode(Blake2b.hash(Array("abc".utf8), outputLength: 64)),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        )
        XCTAssertEqual(Blake2b.hash(UnsafeRawBufferPointer(start: nil, count: 0)), Blake2b.hash([UInt8]()))
    }

    func testBlake2bStreamingMatchesOneShot() {
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for (chunk, length) in [(1, 32), (7, 64), (128, 32), (4999, 16)] {
            var h = Blake2b(outputLength: length)  // `var` as in the original sketch; `let` works too
            var i = 0
            while i < data.count {
                let end = min(i + chunk, data.count)
                data[i..<end].withUnsafeBytes { h.update($0) }
                h.update([])
                i = end
            }
            let digest = h.finalize()
            XCTAssertEqual(digest, Blake2b.hash(data, outputLength: length))
            XCTAssertEqual(digest.count, length)
            XCTAssertEqual(h.finalize(), digest, "finalize is repeatable")
            h = Blake2b()
        }
    }

    func testHex() {
        XCTAssertEqual(Hex.encode([0x00, 0xab, 0xff]), "00abff")
        XCTAssertEqual(Hex.encode([0x00, 0xab, 0xff], uppercase: true), "00ABFF")
        XCTAssertEqual(Hex.encode([UInt8]().reversed()), "")
        XCTAssertEqual(Hex.decode("00aBfF"), [0x00, 0xab, 0xff])
        XCTAssertEqual(Hex.decode(""), [])
        for bad in ["0", "zz", "0x00", " 00", "00 ", "é0", "0\u{0}"] { XCTAssertNil(Hex.decode(bad), bad) }
    }

    func testBase64() {
        for n in 0..<70 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ n) }
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.encode(Array("ab".utf8)), "YWI=")
        XCTAssertEqual(Base64.decode("YWI="), Array("ab".utf8))
        for bad in ["YWI", "YW I=", "YWI=\n", " YWI=", "YWI=x", "abc$", "YWI=====", "Y\u{0}WI=", "-_-_", "é"] {
            XCTAssertNil(Base64.decode(bad), bad)
        }
    }

    func testKeyIDDisplayIsLittleEndianUpperHex() throws {
        let id = try XCTUnwrap(KeyID(bytes: [0xea, 0xe6, 0x6b, 0x90, 0xf9, 0xe3, 0x44, 0x73]))
        XCTAssertEqual(id.displayString, "7344E3F9906BE6EA")
        // minisign prints the id with %PRIX64: no leading zeros (a 1-in-16 case that once failed CI).
        let leadingZero = try XCTUnwrap(KeyID(bytes: [0x9f, 0xa9, 0x33, 0xe0, 0xaa, 0x02, 0xc7, 0x06]))
        XCTAssertEqual(leadingZero.displayString, "6C702AAE033A99F")
        XCTAssertEqual(try XCTUnwrap(KeyID(bytes: [UInt8](repeating: 0, count: 8))).displayString, "0")
        XCTAssertNil(KeyID(bytes: [1, 2, 3]))
        XCTAssertNil(KeyID(bytes: [UInt8](repeating: 0, count: 9)))
    }

    func testPublicKeyRepresentationsRoundTrip() throws {
        let key = SecretKey.generate()
        let pub = key.publicKey
        XCTAssertEqual(pub.slotBytes.count, 42)
        XCTAssertEqual(Array(pub.slotBytes[0..<2]), Array("Ed".utf8))
        XCTAssertEqual(try PublicKey(slotBytes: pub.slotBytes), pub)
        XCTAssertEqual(try PublicKey(base64: pub.base64), pub)
        XCTAssertEqual(try PublicKey(base64: " " + pub.base64 + "\r\n"), pub)
        XCTAssertEqual(try PublicKey(fileContents: pub.fileContents), pub)
        XCTAssertEqual(try PublicKey(fileContents: pub.base64), pub)
        XCTAssertEqual(try PublicKey(fileContents: pub.fileContents.replacingOccurrences(of: "\n", with: "\r\n")), pub)
        XCTAssertTrue(pub.base64.hasPrefix("RW"))  // "Ed" then the key id
        XCTAssertNotEqual(SecretKey.generate().keyID, key.keyID)
    }

    func testSecretKeyRoundTripAndSignatures() throws {
        let key = SecretKey.generate()
        XCTAssertEqual(key.bytes.count, 64)
        let again = try SecretKey(fileContents: key.unencryptedFileContents, password: nil)
        XCTAssertEqual(again.bytes, key.bytes)
        XCTAssertEqual(again.keyID, key.keyID)
        XCTAssertEqual(try SecretKey(fileContents: key.unencryptedFileContents, password: "ignored").bytes, key.bytes)

        let msg = Array("message".utf8)
        let sig = key.sign(msg)
        XCTAssertEqual(sig.count, 64)
        msg.withUnsafeBytes { m in
            XCTAssertTrue(Ed25519.verify(signature: sig, message: m, publicKey: key.publicKey))
            XCTAssertFalse(Ed25519.verifyPrehashed(signature: sig, message: m, publicKey: key.publicKey))
            let pre = key.signPrehashed(m)
            XCTAssertTrue(Ed25519.verifyPrehashed(signature: pre, message: m, publicKey: key.publicKey))
            // Prehashed really is plain Ed25519 over BLAKE2b-512 (not libsodium's Ed25519ph).
            XCTAssertEqual(pre, key.sign(Blake2b.hash(msg, outputLength: 64)))
            XCTAssertFalse(Ed25519.verify(signature: sig, message: m, publicKey: SecretKey.generate().publicKey))
        }
        XCTAssertTrue(
            Ed25519.verify(
                signature: key.sign([]), message: UnsafeRawBufferPointer(start: nil, count: 0),
                publicKey: key.publicKey))
    }

    func testCreatedSignatureRoundTripsThroughText() throws {
        let key = SecretKey.generate()
        let file = Array("payload".utf8)
        let sig = file.withUnsafeBytes {
            MinisignSignature.create(for: $0, key: key, trustedComment: "a\nb\r\nc", untrustedComment: "u\nv")
        }
        XCTAssertEqual(sig.trustedComment, "a b c")
        XCTAssertEqual(sig.untrustedComment, "u v")
        XCTAssertEqual(sig.algorithm, Array("ED".utf8))
        XCTAssertEqual(sig.fileContents.split(separator: "\n", omittingEmptySubsequences: false).count, 5)
        let parsed = try MinisignSignature(fileContents: sig.fileContents)
        XCTAssertEqual(parsed.fileContents, sig.fileContents)
        try file.withUnsafeBytes { try parsed.verify(file: $0, publicKey: key.publicKey) }
        let crlf = try MinisignSignature(fileContents: sig.fileContents.replacingOccurrences(of: "\n", with: "\r\n"))
        XCTAssertEqual(crlf.trustedComment, "a b c")
        try file.withUnsafeBytes { try crlf.verify(file: $0, publicKey: key.publicKey) }
        // Non-ASCII trusted comments are signed as their UTF-8 bytes.
        let u = file.withUnsafeBytes { MinisignSignature.create(for: $0, key: key, trustedComment: "größe=1 ✓") }
        try file.withUnsafeBytes {
            try MinisignSignature(fileContents: u.fileContents).verify(file: $0, publicKey: key.publicKey)
        }
    }
}
