import Foundation
import XCTest
import BundleCrypto
import BundleFormat
import TestSupport

/// Interoperability with the real `minisign` CLI (0.11), run through /bin/sh in a temporary directory.
final class MinisignTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        try require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/minisign"),
            "/usr/bin/minisign is missing: scripts/install-deps.sh installs it (make test runs it)")
        dir = try TempDir.make("crypto")
    }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    /// Runs `command` with /bin/sh in the test directory, stdin from /dev/null unless the command
    /// pipes; returns what it wrote to stdout and stderr, in order.
    @discardableResult
    func sh(_ command: String, expect: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let o = try ProcessRunner.run("/bin/sh", ["-c", "exec 2>&1\n" + command], cwd: dir)
        XCTAssertEqual(o.status, expect, "\(command): \(o.stdout)", file: file, line: line)
        return o.stdout
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: dir + "/" + name, encoding: .utf8) }
    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
    }
    func write(_ name: String, bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
    }

    func verify(_ sig: MinisignSignature, _ file: [UInt8], _ key: PublicKey) throws {
        try file.withUnsafeBytes { try sig.verify(file: $0, publicKey: key) }
    }

    func assertFails(
        _ sig: MinisignSignature, _ file: [UInt8], _ key: PublicKey, _ code: BundleError.Code,
        mentioning words: String = "",
        file f: StaticString = #filePath, line: UInt = #line
    ) {
        assertBundleError(
            try verify(sig, file, key), code, mentioning: words.isEmpty ? [] : [words], file: f, line: line)
    }

    func testPublicKeyFileMatchesMinisignByteForByte() throws {
        try sh("minisign -G -W -p k.pub -s k.key")
        let text = try read("k.pub")
        let pub = try PublicKey(fileContents: text)
        XCTAssertTrue(text.hasPrefix("untrusted comment: minisign public key \(pub.keyID.displayString)\n"))
        XCTAssertEqual(pub.fileContents, text)
        XCTAssertEqual(try PublicKey(base64: String(text.split(separator: "\n")[1])), pub)
        // minisign -P takes our base64 form.
        try sh("printf 'x' > f && minisign -Sm f -s k.key && minisign -Vm f -P \(pub.base64)")
    }

    func testUnencryptedMinisignKeyLoadsAndSignsFilesMinisignAccepts() throws {
        try sh("minisign -G -W -p k.pub -s k.key")
        let keyText = try read("k.key")
        // minisign 0.11 -W leaves the 32-byte checksum zeroed; we accept that (checking the public half).
        let raw = try XCTUnwrap(Base64.decode(String(keyText.split(separator: "\n")[1])))
        XCTAssertEqual(raw.count, 158)
        let key = try SecretKey(fileContents: keyText, password: nil)
        let pub = try PublicKey(fileContents: try read("k.pub"))
        XCTAssertEqual(key.publicKey, pub)

        let file = Array("the file\n".utf8) + (0..<3000).map { UInt8(truncatingIfNeeded: $0) }
        try write("f", bytes: file)
        let sig = file.withUnsafeBytes {
            MinisignSignature.create(for: $0, key: key, trustedComment: "app=x version=1")
        }
        try write("f.minisig", sig.fileContents)
        let out = try sh("minisign -Vm f -p k.pub")
        XCTAssertTrue(out.contains("Trusted comment: app=x version=1"), out)
        try sh("minisign -VHm f -p k.pub")  // -H: minisign insists on the prehashed format
        XCTAssertTrue(try read("f.minisig").hasPrefix("untrusted comment: signature from bundle-append secret key\n"))

        // minisign refuses what we refuse: a modified file, and another key.
        try write("f", bytes: file + [0])
        try sh("minisign -Vm f -p k.pub", expect: 1)
        try write("f", bytes: file)
        try write("other.pub", SecretKey.generate().publicKey.fileContents)
        try sh("minisign -Vm f -p other.pub", expect: 1)
    }

    func testMinisignSignaturesVerifyHereAndTamperingFails() throws {
        try sh(
            "minisign -G -W -p k.pub -s k.key && printf 'data' > f && minisign -Sm f -s k.key -t 'hello comment' -c 'my note'"
        )
        let pub = try PublicKey(fileContents: try read("k.pub"))
        let sig = try MinisignSignature(fileContents: try read("f.minisig"))
        XCTAssertEqual(sig.trustedComment, "hello comment")
        XCTAssertEqual(sig.untrustedComment, "my note")
        XCTAssertEqual(sig.algorithm, Array("ED".utf8))
        XCTAssertEqual(sig.keyID, pub.keyID)
        XCTAssertEqual(sig.fileContents, try read("f.minisig"))
        let data = Array("data".utf8)
        try verify(sig, data, pub)

        assertFails(sig, Array("datA".utf8), pub, .badSignature)
        assertFails(sig, [], pub, .badSignature)
        var forged = sig
        forged.trustedComment = "other comment"
        assertFails(forged, data, pub, .badSignature)
        var badGlobal = sig
        badGlobal.globalSignature[0] ^= 1
        assertFails(badGlobal, data, pub, .badSignature)
        // The untrusted comment is not signed: changing it is fine.
        var note = sig
        note.untrustedComment = "anything"
        try verify(note, data, pub)

        let other = SecretKey.generate().publicKey
        assertFails(sig, data, other, .untrustedKey, mentioning: other.keyID.displayString)
        // Another key that claims the same key id still fails, on the signature itself.
        assertFails(sig, data, PublicKey(keyID: pub.keyID, bytes: other.bytes), .badSignature)
        // Algorithm confusion: relabelling a prehashed signature as legacy does not verify.
        var relabelled = sig
        relabelled.algorithm = Array("Ed".utf8)
        assertFails(relabelled, data, pub, .badSignature)
        relabelled.algorithm = []
        assertFails(relabelled, data, pub, .badSignature)
        var short = sig
        short.signature = Array(sig.signature.prefix(10))
        assertFails(short, data, pub, .badSignature)

        // CRLF line ends (a .minisig that went through a Windows editor) still verify.
        let crlf = try MinisignSignature(
            fileContents: try read("f.minisig").replacingOccurrences(of: "\n", with: "\r\n"))
        XCTAssertEqual(crlf.trustedComment, "hello comment")
        try verify(crlf, data, pub)
    }

    func testLegacyMinisignSignaturesVerify() throws {
        try sh(
            "minisign -G -W -p k.pub -s k.key && printf 'legacy data' > f && minisign -Sl -m f -s k.key -t 'old style'")
        let pub = try PublicKey(fileContents: try read("k.pub"))
        let sig = try MinisignSignature(fileContents: try read("f.minisig"))
        XCTAssertEqual(sig.algorithm, Array("Ed".utf8))
        try verify(sig, Array("legacy data".utf8), pub)
        assertFails(sig, Array("legacy datA".utf8), pub, .badSignature)
        var forged = sig
        forged.trustedComment = "new style"
        assertFails(forged, Array("legacy data".utf8), pub, .badSignature)
    }

    func testOurKeyFilesWorkWithMinisign() throws {
        let key = SecretKey.generate()
        try write("o.key", key.unencryptedFileContents)
        try write("o.pub", key.publicKey.fileContents)
        // Same layout as minisign -W writes (zero salt and limits), but with a real checksum.
        let raw = try XCTUnwrap(Base64.decode(String(key.unencryptedFileContents.split(separator: "\n")[1])))
        XCTAssertEqual(Array(raw[0..<6]), [0x45, 0x64, 0, 0, 0x42, 0x32])
        XCTAssertTrue(raw[6..<54].allSatisfy { $0 == 0 })
        XCTAssertEqual(Array(raw[126..<158]), Blake2b.hash(Array("Ed".utf8) + key.keyID.bytes + key.bytes))
        XCTAssertTrue(key.unencryptedFileContents.hasPrefix("untrusted comment: minisign encrypted secret key\n"))

        let out = try sh("printf 'x' > g && minisign -Sm g -s o.key -t tc && minisign -Vm g -p o.pub")
        XCTAssertTrue(out.contains("Trusted comment: tc"), out)
        let sig = try MinisignSignature(fileContents: try read("g.minisig"))
        try verify(sig, Array("x".utf8), key.publicKey)
        // minisign -R derives the same public key file from our secret key file.
        try sh("minisign -R -s o.key -p r.pub")
        XCTAssertEqual(try read("r.pub"), key.publicKey.fileContents)
        XCTAssertEqual(try SecretKey(fileContents: key.unencryptedFileContents, password: nil).bytes, key.bytes)
    }

    func testPasswordProtectedMinisignKey() throws {
        // minisign reads the password (twice) from stdin when stdin is not a terminal.
        try sh("printf 'pw123\\npw123\\n' | minisign -G -p e.pub -s e.key")
        let text = try read("e.key")
        let raw = try XCTUnwrap(Base64.decode(String(text.split(separator: "\n")[1])))
        XCTAssertEqual(Array(raw[2..<4]), Array("Sc".utf8))
        XCTAssertThrowsError(try SecretKey(fileContents: text, password: nil)) {
            XCTAssertEqual(($0 as? BundleError)?.code, .passwordNeeded, "\($0)")
        }
        XCTAssertThrowsError(try SecretKey(fileContents: text, password: "wrong")) {
            XCTAssertEqual(($0 as? BundleError)?.code, .wrongPassword, "\($0)")
        }
        let key = try SecretKey(fileContents: text, password: "pw123")
        XCTAssertEqual(key.publicKey, try PublicKey(fileContents: try read("e.pub")))
        // The decrypted key signs files minisign accepts.
        try write("f", bytes: [1, 2, 3])
        let sig = [UInt8]([1, 2, 3]).withUnsafeBytes {
            MinisignSignature.create(for: $0, key: key, trustedComment: "enc")
        }
        try write("f.minisig", sig.fileContents)
        try sh("minisign -Vm f -p e.pub")
        // Our unencrypted export of it works with minisign too.
        try write("plain.key", key.unencryptedFileContents)
        try sh("printf 'y' > y && minisign -Sm y -s plain.key && minisign -Vm y -p e.pub")
    }
}
