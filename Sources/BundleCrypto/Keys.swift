#if canImport(Glibc)
import Glibc
#endif
import CSodium

/// minisign's 8-byte key id. minisign prints it as a little-endian u64 in upper-case hex.
public struct KeyID: Equatable, Hashable, Sendable {
    public let bytes: [UInt8]
    public init?(bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self.bytes = bytes
    }
    public var displayString: String { Hex.encode(bytes.reversed(), uppercase: true) }
}

/// Splits minisign file text into lines, tolerating CRLF and a missing final newline.
func lines(_ text: String) -> [String] {
    text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        .map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
}

/// An Ed25519 public key in minisign's format: `base64("Ed" + keyid + pk)`.
public struct PublicKey: Equatable, Sendable {
    public let keyID: KeyID
    public let bytes: [UInt8]

    public init(keyID: KeyID, bytes: [UInt8]) {
        self.keyID = keyID
        self.bytes = bytes
    }

    public init(slotBytes: [UInt8]) throws(CryptoError) {
        guard slotBytes.count == 42, slotBytes[0] == 0x45, slotBytes[1] == 0x64, let id = KeyID(bytes: Array(slotBytes[2..<10])) else {
            throw CryptoError("public key: not minisign Ed25519 format")
        }
        self.init(keyID: id, bytes: Array(slotBytes[10..<42]))
    }

    public init(base64 line: String) throws(CryptoError) {
        guard let raw = Base64.decode(line.trimmingSpaces()) else { throw CryptoError("public key: invalid base64") }
        try self.init(slotBytes: raw)
    }

    /// The `.pub` file: a comment line and the key line; a lone key line is accepted too.
    public init(fileContents: String) throws(CryptoError) {
        let ls = lines(fileContents).filter { !$0.isEmpty }
        guard let keyLine = ls.first(where: { !$0.hasPrefix("untrusted comment:") }) else {
            throw CryptoError("public key: no key line found")
        }
        try self.init(base64: keyLine)
    }

    public var slotBytes: [UInt8] { [0x45, 0x64] + keyID.bytes + bytes }
    public var base64: String { Base64.encode(slotBytes) }
    public var fileContents: String { "untrusted comment: minisign public key \(keyID.displayString)\n\(base64)\n" }
}

/// An Ed25519 secret key with its minisign key id.
public struct SecretKey: Sendable {
    public let keyID: KeyID
    public let bytes: [UInt8]   // libsodium form: seed (32) + public key (32)

    public var publicKey: PublicKey { PublicKey(keyID: keyID, bytes: Array(bytes[32..<64])) }

    public init(keyID: KeyID, bytes: [UInt8]) {
        self.keyID = keyID
        self.bytes = bytes
    }

    public static func generate() -> SecretKey {
        Sodium.initialize()
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        crypto_sign_keypair(&pk, &sk)
        var id = [UInt8](repeating: 0, count: 8)
        randombytes_buf(&id, 8)
        return SecretKey(keyID: KeyID(bytes: id)!, bytes: sk)
    }

    /// Layout of the decoded secret key line (158 bytes).
    private static let length = 158

    /// Reads a minisign secret key file, unencrypted (`minisign -G -W`) or scrypt-encrypted.
    public init(fileContents: String, password: String?) throws(CryptoError) {
        let ls = lines(fileContents).filter { !$0.isEmpty }
        guard let line = ls.first(where: { !$0.hasPrefix("untrusted comment:") }), var raw = Base64.decode(line.trimmingSpaces()) else {
            throw CryptoError("secret key: not a minisign secret key file")
        }
        guard raw.count == SecretKey.length, raw[0] == 0x45, raw[1] == 0x64, raw[4] == 0x42, raw[5] == 0x32 else {
            throw CryptoError("secret key: not a minisign Ed25519 secret key")
        }
        let kdf = (raw[2], raw[3])
        let encrypted: Bool
        switch kdf {
        case (0, 0): encrypted = false
        case (0x53, 0x63): encrypted = true   // "Sc": scrypt
        default: throw CryptoError("secret key: unknown key derivation")
        }
        if encrypted {
            guard let password else { throw CryptoError("secret key is encrypted: a password is needed") }
            Sodium.initialize()
            let salt = Array(raw[6..<38])
            let ops = raw[38..<46].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let mem = raw[46..<54].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard mem <= 1 << 31, ops <= 1 << 32 else { throw CryptoError("secret key: unreasonable scrypt parameters") }
            var stream = [UInt8](repeating: 0, count: 104)
            let pw = Array(password.utf8)
            let r = crypto_pwhash_scryptsalsa208sha256(&stream, 104, pw.map { CChar(bitPattern: $0) }, UInt64(pw.count), salt, ops, Int(mem))
            guard r == 0 else { throw CryptoError("secret key: scrypt failed (out of memory?)") }
            for i in 0..<104 { raw[54 + i] ^= stream[i] }
        }
        let id = Array(raw[54..<62]), sk = Array(raw[62..<126]), chk = Array(raw[126..<158])
        let expected = Blake2b.hash([0x45, 0x64] + id + sk)
        let zero = chk.allSatisfy { $0 == 0 }
        if !(chk == expected || (!encrypted && zero)) {
            throw CryptoError(encrypted ? "secret key: wrong password or corrupt key (checksum mismatch)" : "secret key: corrupt key (checksum mismatch)")
        }
        self.init(keyID: KeyID(bytes: id)!, bytes: sk)
    }

    /// What `minisign -G -W` writes, with the checksum filled in (minisign accepts both).
    public var unencryptedFileContents: String {
        var raw: [UInt8] = [0x45, 0x64, 0, 0, 0x42, 0x32]
        raw += [UInt8](repeating: 0, count: 32 + 8 + 8)
        raw += keyID.bytes + bytes + Blake2b.hash([0x45, 0x64] + keyID.bytes + bytes)
        return "untrusted comment: minisign encrypted secret key\n\(Base64.encode(raw))\n"
    }

    public func sign(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.initialize()
        var sig = [UInt8](repeating: 0, count: 64)
        crypto_sign_detached(&sig, nil, message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count), bytes)
        return sig
    }

    public func sign(_ message: [UInt8]) -> [UInt8] { message.withUnsafeBytes { sign($0) } }

    /// minisign's prehashed mode: Ed25519 over BLAKE2b-512(message).
    public func signPrehashed(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        sign(Blake2b.hash(message, outputLength: 64))
    }
}

public enum Ed25519 {
    public static func verify(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: PublicKey) -> Bool {
        Sodium.initialize()
        guard signature.count == 64, publicKey.bytes.count == 32 else { return false }
        return crypto_sign_verify_detached(signature, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                           UInt64(message.count), publicKey.bytes) == 0
    }

    public static func verifyPrehashed(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: PublicKey) -> Bool {
        Blake2b.hash(message, outputLength: 64).withUnsafeBytes { verify(signature: signature, message: $0, publicKey: publicKey) }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\n" { s = s.dropLast() }
        return String(s)
    }
}
