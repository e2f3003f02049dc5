import CSodium
import BundleFormat

/// minisign's 8-byte key id (random, chosen at key generation). It only names a key, it proves
/// nothing; signatures carry it so a verifier can say "signed by another key" instead of "bad signature".
public struct KeyID: Equatable, Hashable, Sendable {
    public let bytes: [UInt8]

    /// nil unless exactly 8 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self.bytes = bytes
    }

    /// As minisign prints it: the bytes read as a little-endian u64, in 16 upper-case hex digits
    /// (bytes ea e6 6b 90 f9 e3 44 73 print as 7344E3F9906BE6EA).
    /// As minisign prints it (`%" PRIX64`): the little-endian value in upper-case hex, without
    /// leading zeros, so our key files and messages match minisign's byte for byte.
    public var displayString: String {
        let digits = Hex.encode(bytes.reversed(), uppercase: true).utf8.drop { $0 == UInt8(ascii: "0") }
        return digits.isEmpty ? "0" : String(decoding: digits, as: UTF8.self)
    }
}

/// Splits minisign file text into lines at each LF byte, tolerating CRLF (one CR before the LF is
/// dropped) and a missing final newline.
func lines(_ text: String) -> [String] {
    text.splitBytes(at: UInt8(ascii: "\n"), omittingEmpty: false).map {
        $0.hasByteSuffix("\r") ? String(decoding: $0.utf8.dropLast(), as: UTF8.self) : $0
    }
}

/// The first non-empty line that is not an `untrusted comment:` line: the key line of a minisign
/// key file, or the file itself when it holds only the base64 line.
private func keyLine(_ text: String) -> String? {
    lines(text).map { $0.trimmingASCIISpaces() }.first { !$0.isEmpty && !$0.hasBytePrefix("untrusted comment:") }
}

private let ed = SignatureAlgorithm.ed25519

/// An Ed25519 public key in minisign's format: `base64("Ed" + keyid + pk)`.
public struct PublicKey: Equatable, Sendable {
    public let keyID: KeyID
    public let bytes: [UInt8]

    /// `bytes` must be the 32-byte Ed25519 public key (a programming error otherwise, so it traps).
    public init(keyID: KeyID, bytes: [UInt8]) {
        precondition(bytes.count == 32, "an Ed25519 public key is 32 bytes")
        self.keyID = keyID
        self.bytes = bytes
    }

    /// The 42 bytes `"Ed" + keyid + pk`, as embedded in the launcher's key slot.
    public init(slotBytes: [UInt8]) throws(BundleError) {
        guard slotBytes.count == 42 else {
            throw BundleError(
                .badKey, "public key: not minisign Ed25519 format (\(slotBytes.count) bytes, expected 42)")
        }
        guard slotBytes[0] == ed[0], slotBytes[1] == ed[1] else {
            throw BundleError(.badKey, "public key: not minisign Ed25519 format (algorithm is not \"Ed\")")
        }
        self.init(keyID: KeyID(bytes: Array(slotBytes[2..<10]))!, bytes: Array(slotBytes[10..<42]))
    }

    /// The key line of a `.pub` file ("RWQ..."), as `minisign -P` takes it.
    public init(base64 line: String) throws(BundleError) {
        guard let raw = Base64.decode(line.trimmingASCIISpaces()) else {
            throw BundleError(.badKey, "public key: invalid base64")
        }
        try self.init(slotBytes: raw)
    }

    /// The `.pub` file: a comment line and the key line; a file holding only the key line is accepted too.
    public init(fileContents: String) throws(BundleError) {
        guard let line = keyLine(fileContents) else { throw BundleError(.badKey, "public key: no key line found") }
        try self.init(base64: line)
    }

    public var slotBytes: [UInt8] { ed + keyID.bytes + bytes }
    public var base64: String { Base64.encode(slotBytes) }
    /// Byte-for-byte what `minisign -G` writes to the `.pub` file.
    public var fileContents: String { "untrusted comment: minisign public key \(keyID.displayString)\n\(base64)\n" }
}

/// An Ed25519 secret key with its minisign key id.
public struct SecretKey: Sendable {
    public let keyID: KeyID
    /// libsodium form: seed (32) + public key (32).
    public let bytes: [UInt8]

    public var publicKey: PublicKey { PublicKey(keyID: keyID, bytes: Array(bytes[32..<64])) }

    init(keyID: KeyID, bytes: [UInt8]) {
        precondition(bytes.count == 64, "a libsodium Ed25519 secret key is 64 bytes")
        self.keyID = keyID
        self.bytes = bytes
    }

    /// A fresh key pair with a random key id, like `minisign -G`.
    public static func generate() -> SecretKey {
        Sodium.initialize()
        var pk = [UInt8](repeating: 0, count: 32)
        var sk = [UInt8](repeating: 0, count: 64)
        crypto_sign_keypair(&pk, &sk)
        var id = [UInt8](repeating: 0, count: 8)
        randombytes_buf(&id, 8)
        return SecretKey(keyID: KeyID(bytes: id)!, bytes: sk)
    }

    /// Decoded secret key line: sig_alg(2) kdf_alg(2) cksum_alg(2) salt(32) opslimit(8) memlimit(8)
    /// then the 104 bytes keyid(8) sk(64) chk(32), XORed with an scrypt stream when encrypted.
    private static let length = 158
    private static let sealedStart = 54

    /// scrypt limits we are willing to run: minisign uses opslimit 2^25 and memlimit 2^30 (1 GiB);
    /// a key file asking for far more is refused rather than allowed to exhaust memory or time.
    private static let maxOpslimit: UInt64 = 1 << 32
    private static let maxMemlimit: UInt64 = 1 << 31

    /// Reads a minisign secret key file, unencrypted (`minisign -G -W`) or scrypt-encrypted.
    ///
    /// With `password == nil` and an encrypted key this throws "secret key is encrypted: a password
    /// is needed"; that is the only error mentioning "password" when none was given, so a caller can
    /// try nil first and prompt only then. A wrong password shows as a checksum mismatch (minisign's
    /// format has no other way to tell).
    public init(fileContents: String, password: String?) throws(BundleError) {
        guard let line = keyLine(fileContents) else { throw BundleError(.badKey, "secret key: no key line found") }
        guard var raw = Base64.decode(line) else { throw BundleError(.badKey, "secret key: invalid base64") }
        defer { sodium_memzero(&raw, raw.count) }
        guard raw.count == SecretKey.length else {
            throw BundleError(
                .badKey, "secret key: not a minisign secret key (\(raw.count) bytes, expected \(SecretKey.length))")
        }
        guard raw[0] == ed[0], raw[1] == ed[1] else {
            throw BundleError(.badKey, "secret key: not an Ed25519 key (algorithm is not \"Ed\")")
        }
        guard raw[4] == 0x42, raw[5] == 0x32 else {
            throw BundleError(.badKey, "secret key: unknown checksum algorithm (not \"B2\")")
        }
        let encrypted: Bool
        switch (raw[2], raw[3]) {
        case (0, 0): encrypted = false
        case (0x53, 0x63): encrypted = true  // "Sc": scrypt
        default: throw BundleError(.badKey, "secret key: unknown key derivation (neither none nor scrypt)")
        }
        if encrypted {
            guard let password else {
                throw BundleError(.passwordNeeded, "secret key is encrypted: a password is needed")
            }
            let ops = le64(raw[38..<46]), mem = le64(raw[46..<54])
            guard ops <= SecretKey.maxOpslimit, mem <= SecretKey.maxMemlimit else {
                throw BundleError(
                    .badKey, "secret key: unreasonable scrypt parameters (opslimit \(ops), memlimit \(mem))")
            }
            Sodium.initialize()
            let salt = Array(raw[6..<38])
            var stream = [UInt8](repeating: 0, count: 104)
            var pw = Array(password.utf8) + [0]  // never an empty buffer, so never a null pointer
            let r = pw.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { c in
                    crypto_pwhash_scryptsalsa208sha256(
                        &stream, 104, c.baseAddress!, UInt64(c.count - 1), salt, ops, Int(mem))
                }
            }
            sodium_memzero(&pw, pw.count)
            guard r == 0 else {
                throw BundleError(.crypto, "secret key: scrypt key derivation failed (out of memory?)")
            }
            for i in 0..<104 { raw[SecretKey.sealedStart + i] ^= stream[i] }
            sodium_memzero(&stream, stream.count)
        }
        let id = Array(raw[54..<62]), sk = Array(raw[62..<126]), chk = Array(raw[126..<158])
        let expected = Blake2b.hash(ed + id + sk)
        if chk != expected {
            // minisign 0.11 `-G -W` leaves the checksum zeroed; accept that for unencrypted keys only,
            // and then at least check that the public half matches the seed.
            guard !encrypted, chk.allSatisfy({ $0 == 0 }) else {
                throw encrypted
                    ? BundleError(.wrongPassword, "secret key: wrong password or corrupt key (checksum mismatch)")
                    : BundleError(.badKey, "secret key: corrupt key (checksum mismatch)")
            }
            Sodium.initialize()
            var pk = [UInt8](repeating: 0, count: 32), derived = [UInt8](repeating: 0, count: 64)
            _ = crypto_sign_seed_keypair(&pk, &derived, Array(sk[0..<32]))
            sodium_memzero(&derived, derived.count)
            guard pk == Array(sk[32..<64]) else {
                throw BundleError(.badKey, "secret key: corrupt key (public half does not match the seed)")
            }
        }
        self.init(keyID: KeyID(bytes: id)!, bytes: sk)
    }

    /// What `minisign -G -W` writes (zero salt and limits, kdf "none"), except that the checksum is
    /// filled in rather than left zero; minisign accepts both.
    public var unencryptedFileContents: String {
        var raw: [UInt8] = ed + [0, 0, 0x42, 0x32]
        raw += [UInt8](repeating: 0, count: 32 + 8 + 8)
        raw += keyID.bytes + bytes + Blake2b.hash(ed + keyID.bytes + bytes)
        defer { sodium_memzero(&raw, raw.count) }
        return "untrusted comment: minisign encrypted secret key\n\(Base64.encode(raw))\n"
    }

    func sign(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        Sodium.initialize()
        var sig = [UInt8](repeating: 0, count: 64)
        crypto_sign_detached(
            &sig, nil, message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count), bytes)
        return sig
    }

    /// Plain Ed25519 detached signature (64 bytes) over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] { message.withUnsafeBytes { sign($0) } }

    /// minisign's prehashed mode ("ED"): plain Ed25519 over BLAKE2b-512(message). Not libsodium's
    /// crypto_sign_init/update/final, which is Ed25519ph and incompatible.
    public func signPrehashed(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        Blake2b.hash(message, outputLength: 64).withUnsafeBytes { sign($0) }
    }
}

/// Detached Ed25519 verification. Returns false (never traps) for malformed signatures or keys.
public enum Ed25519 {
    public static func verify(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: PublicKey) -> Bool {
        Sodium.initialize()
        guard signature.count == 64, publicKey.bytes.count == 32 else { return false }
        return crypto_sign_verify_detached(
            signature, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
            UInt64(message.count), publicKey.bytes) == 0
    }

    /// minisign's prehashed mode: the signature is over BLAKE2b-512(message).
    public static func verifyPrehashed(signature: [UInt8], message: UnsafeRawBufferPointer, publicKey: PublicKey)
        -> Bool
    {
        Blake2b.hash(message, outputLength: 64).withUnsafeBytes {
            verify(signature: signature, message: $0, publicKey: publicKey)
        }
    }
}

private func le64(_ b: ArraySlice<UInt8>) -> UInt64 { b.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
