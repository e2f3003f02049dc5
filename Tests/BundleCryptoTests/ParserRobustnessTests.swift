import XCTest
import BundleCrypto
import BundleFormat
import TestSupport

/// Every parser of untrusted text or bytes throws a one-line BundleError on bad input; none traps.
final class ParserRobustnessTests: XCTestCase {
    func assertOneLineError(
        _ body: () throws -> Void, _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { e in
            guard let c = e as? BundleError else { return XCTFail("not a BundleError: \(e)", file: file, line: line) }
            XCTAssertFalse(c.message.isEmpty || c.message.contains("\n"), c.message, file: file, line: line)
            XCTAssertEqual(c.description, c.message, file: file, line: line)
        }
    }

    func assertAllParsersRefuse(_ s: String, file: StaticString = #filePath, line: UInt = #line) {
        assertOneLineError({ _ = try PublicKey(fileContents: s) }, "pub: \(s.debugDescription)", file: file, line: line)
        assertOneLineError(
            { _ = try PublicKey(base64: s) }, "pub base64: \(s.debugDescription)", file: file, line: line)
        assertOneLineError(
            { _ = try SecretKey(fileContents: s, password: nil) }, "key: \(s.debugDescription)", file: file, line: line)
        assertOneLineError(
            { _ = try SecretKey(fileContents: s, password: "pw") }, "key+pw: \(s.debugDescription)", file: file,
            line: line)
        assertOneLineError(
            { _ = try MinisignSignature(fileContents: s) }, "sig: \(s.debugDescription)", file: file, line: line)
    }

    func testObviousGarbage() {
        let b64 = { (n: Int, v: UInt8) in Base64.encode([UInt8](repeating: v, count: n)) }
        for s in [
            "", "\n", "\r\n\r\n", "untrusted comment: x\n", "untrusted comment: x\nnot base64!!\n", "RWQ=", "RWQAAAAA",
            "untrusted comment: x\n" + b64(42, 0x45) + "\n", "\u{0}", "é✓", String(repeating: "A", count: 100_000),
            "untrusted comment: x\nRWQ AAAA\n", b64(158, 0), b64(74, 0x45), b64(1, 0),
            "untrusted comment: x\ntrusted comment: y\n\n\n",
        ] {
            assertAllParsersRefuse(s)
        }
        // libsodium alone decodes the two bytes of "é" as "//" (found by the random test below).
        XCTAssertNil(Base64.decode("qiH2Zj2éepK"))
        XCTAssertEqual(Base64.decode("qiH2Zj2//epK"), [0xAA, 0x21, 0xF6, 0x66, 0x3D, 0xBF, 0xFD, 0xEA, 0x4A])
        XCTAssertFalse(
            Ed25519.verify(
                signature: [1, 2], message: UnsafeRawBufferPointer(start: nil, count: 0),
                publicKey: SecretKey.generate().publicKey))
        XCTAssertFalse(
            Ed25519.verifyPrehashed(
                signature: [], message: UnsafeRawBufferPointer(start: nil, count: 0),
                publicKey: SecretKey.generate().publicKey))
    }

    /// Random text near the formats: every parser either accepts it or throws a one-line BundleError
    /// (a trap would end the run), and the codecs accept only what they would have written.
    func testRandomTextIsRefusedCleanly() {
        var rng = SplitMix64(state: 0x9E37_79B9_7F4A_7C15)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n\r :-é".unicodeScalars)
        let prefixes = ["", "untrusted comment: x\n", "untrusted comment: x\nRWQ", "untrusted comment: a\nRUQ"]
        let cases = 3000
        var refused = 0
        func parse(_ body: () throws -> Void, _ s: String) {
            do { try body() } catch let e as BundleError {
                refused += 1
                XCTAssertFalse(e.message.isEmpty || e.message.contains("\n"), "\(e.message) for \(s.debugDescription)")
            } catch { XCTFail("not a BundleError: \(error) for \(s.debugDescription)") }
        }
        for _ in 0..<cases {
            var s = prefixes[Int.random(in: 0..<prefixes.count, using: &rng)]
            for _ in 0..<Int.random(in: 0..<300, using: &rng) {
                s.unicodeScalars.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
            }
            parse({ _ = try PublicKey(fileContents: s) }, s)
            parse({ _ = try SecretKey(fileContents: s, password: nil) }, s)
            parse({ _ = try MinisignSignature(fileContents: s) }, s)
            if let b = Base64.decode(s) { XCTAssertEqual(Base64.encode(b), s, "base64 accepts only its own encoding") }
            if let b = Hex.decode(s) { XCTAssertEqual(Hex.encode(b), s.lowercased(), "hex accepts only hex digits") }
        }
        // Random text is (all but) never a valid key or signature: nearly every attempt was a refusal.
        XCTAssertGreaterThan(refused, cases * 3 - cases / 100, "refusals")
    }

    func testSlotBytesOfEveryLength() throws {
        let good = SecretKey.generate().publicKey.slotBytes
        for n in 0..<100 where n != 42 {
            assertOneLineError({ _ = try PublicKey(slotBytes: Array((good + good + good).prefix(n))) }, "length \(n)")
        }
        for alg in [[0x45, 0x44], [0x00, 0x00], [0x64, 0x45]] as [[UInt8]] {
            assertOneLineError({ _ = try PublicKey(slotBytes: alg + good.dropFirst(2)) }, "alg \(alg)")
        }
        XCTAssertNoThrow(try PublicKey(slotBytes: good))
    }

    /// A valid signature file with one thing broken at a time.
    func testSignatureFileMutations() throws {
        let key = SecretKey.generate()
        let sig = [UInt8]([7]).withUnsafeBytes { MinisignSignature.create(for: $0, key: key, trustedComment: "t") }
        let ls = sig.fileContents.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let sigBytes = try XCTUnwrap(Base64.decode(ls[1]))
        func file(_ l: [String]) -> String { l.joined(separator: "\n") }
        XCTAssertNoThrow(try MinisignSignature(fileContents: file(ls)))
        XCTAssertNoThrow(try MinisignSignature(fileContents: file(Array(ls.prefix(4)))), "no final newline is fine")
        for i in 0..<4 {
            var l = ls; l.remove(at: i); assertAllParsersRefuse(file(l))
            l = ls; l[i] = "";
            assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "line \(i) empty")
            l = ls; l[i] = "@@@";
            assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "line \(i) garbage")
        }
        var l = ls
        l.swapAt(1, 3); assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "lines swapped")
        l = ls; l[0] = "Untrusted comment: x";
        assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "prefix")
        l = ls; l[2] = "trusted comment:x";
        assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "prefix")
        for n in [0, 1, 10, 73, 75, 148] {
            l = ls; l[1] = Base64.encode(Array((sigBytes + sigBytes + sigBytes).prefix(n)))
            assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "sig length \(n)")
            l = ls; l[3] = Base64.encode(Array((sigBytes + sigBytes + sigBytes).prefix(n == 73 ? 63 : n)))
            assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "global length \(n)")
        }
        for alg in ["EE", "ed", "eD", "\u{0}\u{0}", "Sc"] {
            l = ls; l[1] = Base64.encode(Array(alg.utf8) + sigBytes.dropFirst(2))
            assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "alg \(alg)")
        }
        l = ls; l[1] = String(ls[1].dropLast(2))
        assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "truncated base64")
        l = ls; l[1] = ls[1].prefix(10) + " " + ls[1].dropFirst(10)
        assertOneLineError({ _ = try MinisignSignature(fileContents: file(l)) }, "space inside base64")
    }

    /// Secret key files broken one field at a time (no scrypt work is done for any of them).
    func testSecretKeyMutations() throws {
        let key = SecretKey.generate()
        let good = try XCTUnwrap(Base64.decode(String(key.unencryptedFileContents.split(separator: "\n")[1])))
        func text(_ raw: [UInt8]) -> String {
            "untrusted comment: minisign encrypted secret key\n" + Base64.encode(raw) + "\n"
        }
        func refuse(_ raw: [UInt8], _ expected: BundleError.Code, password: String? = nil, line: UInt = #line) {
            assertBundleError(try SecretKey(fileContents: text(raw), password: password), expected, line: line)
        }
        XCTAssertEqual(try SecretKey(fileContents: text(good), password: nil).bytes, key.bytes)
        XCTAssertEqual(
            try SecretKey(fileContents: text(good).replacingOccurrences(of: "\n", with: "\r\n"), password: nil).bytes,
            key.bytes)
        XCTAssertEqual(
            try SecretKey(fileContents: Base64.encode(good), password: nil).bytes, key.bytes, "key line alone")

        for n in [0, 1, 54, 157, 159, 316] { refuse(Array((good + good).prefix(n)), .badKey) }
        var raw = good; raw[1] = 0x44; refuse(raw, .badKey)
        raw = good; raw[2] = 0x58; raw[3] = 0x78; refuse(raw, .badKey)
        raw = good; raw[4] = 0x42; raw[5] = 0x33; refuse(raw, .badKey)
        raw = good; raw[100] ^= 1; refuse(raw, .badKey)
        raw = good; raw[140] ^= 1; refuse(raw, .badKey)
        raw = good; raw[56] ^= 1; refuse(raw, .badKey)  // key id is covered too
        // minisign -W style (zero checksum) is accepted, but only when the public half matches the seed.
        raw = good; for i in 126..<158 { raw[i] = 0 }
        XCTAssertEqual(try SecretKey(fileContents: text(raw), password: nil).bytes, key.bytes)
        raw[120] ^= 1; refuse(raw, .badKey)
        raw = good; for i in 126..<158 { raw[i] = 0 }; raw[70] ^= 1; refuse(raw, .badKey)

        // Encrypted ("Sc") keys: no password, or absurd scrypt limits, are refused before any work.
        raw = good; raw[2] = 0x53; raw[3] = 0x63
        refuse(raw, .passwordNeeded)
        for i in 46..<54 { raw[i] = 0xff }
        refuse(raw, .passwordNeeded)
        refuse(raw, .badKey, password: "pw")
        raw = good; raw[2] = 0x53; raw[3] = 0x63; raw[45] = 0x7f
        refuse(raw, .badKey, password: "pw")
        // Small limits: the derivation runs, the checksum does not match.
        // ops 32768, mem 1 MiB
        raw = good; raw[2] = 0x53; raw[3] = 0x63; raw[38] = 0x00; raw[39] = 0x80; raw[48] = 0x10
        refuse(raw, .wrongPassword, password: "")
        refuse(raw, .wrongPassword, password: "pw")

        // Only an encrypted key without a password is `.passwordNeeded` (bundle-append prompts on that code).
        for bad in ["", "x", text(Array(good.prefix(100)))] {
            XCTAssertThrowsError(try SecretKey(fileContents: bad, password: nil)) {
                XCTAssertNotEqual(($0 as? BundleError)?.code, .passwordNeeded)
            }
        }
    }
}
