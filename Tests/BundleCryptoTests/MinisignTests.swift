import Foundation
import XCTest
import BundleCrypto

/// BLAKE2b known answers, and minisign interoperability tested against the real `minisign` CLI.
final class MinisignTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "crypto-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    @discardableResult
    func sh(_ command: String, expect: Int32 = 0) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = dir + "/.out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let h = FileHandle(forWritingAtPath: out)!
        p.standardOutput = h
        p.standardError = h
        try p.run()
        p.waitUntilExit()
        try h.close()
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        XCTAssertEqual(p.terminationStatus, expect, "\(command): \(text)")
        return text
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }

    func testBlake2bKnownAnswers() {
        // hashlib.blake2b(b"", digest_size=32) and hashlib.blake2b(b"abc")
        XCTAssertEqual(Hex.encode(Blake2b.hash([UInt8]())), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        XCTAssertEqual(Hex.encode(Blake2b.hash(Array("abc".utf8), outputLength: 64)),
                       "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
        let h = Blake2b()
        h.update(Array("a".utf8)); h.update(Array("bc".utf8))
        XCTAssertEqual(h.finalize(), Blake2b.hash(Array("abc".utf8)))
    }

    func testKeyIDDisplayMatchesMinisign() throws {
        try sh("minisign -G -W -p k.pub -s k.key")
        let pub = try PublicKey(fileContents: try read("k.pub"))
        XCTAssertTrue(try read("k.pub").contains(pub.keyID.displayString))
        XCTAssertEqual(pub.fileContents, try read("k.pub"))
    }

    func testMinisignKeySignsFilesMinisignAccepts() throws {
        try sh("minisign -G -W -p k.pub -s k.key")
        let key = try SecretKey(fileContents: try read("k.key"), password: nil)
        XCTAssertEqual(key.publicKey, try PublicKey(fileContents: try read("k.pub")))
        let file = Array("the file\n".utf8)
        try Data(file).write(to: URL(fileURLWithPath: dir + "/f"))
        let sig = file.withUnsafeBytes { MinisignSignature.create(for: $0, key: key, trustedComment: "app=x version=1") }
        try sig.fileContents.write(toFile: dir + "/f.minisig", atomically: true, encoding: .utf8)
        let out = try sh("minisign -Vm f -p k.pub")
        XCTAssertTrue(out.contains("app=x version=1"), out)
    }

    func testMinisignSignaturesVerifyHereAndTamperingFails() throws {
        try sh("minisign -G -W -p k.pub -s k.key && printf 'data' > f && minisign -Sm f -s k.key -t 'hello comment'")
        let pub = try PublicKey(fileContents: try read("k.pub"))
        let sig = try MinisignSignature(fileContents: try read("f.minisig"))
        XCTAssertEqual(sig.trustedComment, "hello comment")
        try Array("data".utf8).withUnsafeBytes { try sig.verify(file: $0, publicKey: pub) }
        XCTAssertThrowsError(try Array("datA".utf8).withUnsafeBytes { try sig.verify(file: $0, publicKey: pub) })
        var forged = sig
        forged.trustedComment = "other comment"
        XCTAssertThrowsError(try Array("data".utf8).withUnsafeBytes { try forged.verify(file: $0, publicKey: pub) }) { e in
            XCTAssertTrue("\(e)".contains("trusted comment"))
        }
        let other = SecretKey.generate().publicKey
        XCTAssertThrowsError(try Array("data".utf8).withUnsafeBytes { try sig.verify(file: $0, publicKey: other) })
    }

    func testOurKeyFilesWorkWithMinisign() throws {
        let key = SecretKey.generate()
        try key.unencryptedFileContents.write(toFile: dir + "/o.key", atomically: true, encoding: .utf8)
        try key.publicKey.fileContents.write(toFile: dir + "/o.pub", atomically: true, encoding: .utf8)
        try sh("printf 'x' > g && minisign -Sm g -s o.key -t tc && minisign -Vm g -p o.pub")
        XCTAssertEqual(try SecretKey(fileContents: key.unencryptedFileContents, password: nil).bytes, key.bytes)
    }

    func testPasswordProtectedMinisignKey() throws {
        // minisign reads the password twice from stdin when it is not a terminal.
        try sh("printf 'pw123\\npw123\\n' | minisign -G -p e.pub -s e.key")
        let text = try read("e.key")
        XCTAssertThrowsError(try SecretKey(fileContents: text, password: nil)) { XCTAssertTrue("\($0)".contains("password")) }
        XCTAssertThrowsError(try SecretKey(fileContents: text, password: "wrong")) { XCTAssertTrue("\($0)".contains("wrong password")) }
        let key = try SecretKey(fileContents: text, password: "pw123")
        XCTAssertEqual(key.publicKey, try PublicKey(fileContents: try read("e.pub")))
    }

    func testGarbageIsRefusedNotCrashed() {
        for s in ["", "\n", "untrusted comment: x\n", "untrusted comment: x\nnot base64!!\n", "RWQ=", "RWQAAAAA",
                  "untrusted comment: x\n" + Base64.encode([UInt8](repeating: 0x45, count: 42)) + "\n"] {
            XCTAssertThrowsError(try PublicKey(fileContents: s), s)
            XCTAssertThrowsError(try SecretKey(fileContents: s, password: nil), s)
            XCTAssertThrowsError(try MinisignSignature(fileContents: s), s)
        }
        XCTAssertNil(Base64.decode("abc$"))
        XCTAssertNil(Hex.decode("zz"))
        XCTAssertFalse(Ed25519.verify(signature: [1, 2], message: UnsafeRawBufferPointer(start: nil, count: 0),
                                      publicKey: SecretKey.generate().publicKey))
    }
}
