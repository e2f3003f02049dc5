/// A minisign `.minisig` file: signature over a whole file plus a signed trusted comment.
public struct MinisignSignature: Sendable {
    public var untrustedComment: String
    public var trustedComment: String
    public var keyID: KeyID
    /// "ED" (prehashed, BLAKE2b-512 of the file) or legacy "Ed" (the raw file).
    public var algorithm: [UInt8]
    public var signature: [UInt8]
    public var globalSignature: [UInt8]

    public init(fileContents: String) throws(CryptoError) {
        let ls = lines(fileContents)
        guard ls.count >= 4, ls[0].hasPrefix("untrusted comment: "), ls[2].hasPrefix("trusted comment: ") else {
            throw CryptoError("signature file: not in minisign format (expected 4 lines)")
        }
        guard let sig = Base64.decode(ls[1].trimmingSpaces()), sig.count == 74 else {
            throw CryptoError("signature file: invalid signature line")
        }
        guard (sig[0] == 0x45 && (sig[1] == 0x44 || sig[1] == 0x64)) else { throw CryptoError("signature file: unknown signature algorithm") }
        guard let global = Base64.decode(ls[3].trimmingSpaces()), global.count == 64 else {
            throw CryptoError("signature file: invalid global signature line")
        }
        untrustedComment = String(ls[0].dropFirst("untrusted comment: ".count))
        trustedComment = String(ls[2].dropFirst("trusted comment: ".count))
        algorithm = Array(sig[0..<2])
        keyID = KeyID(bytes: Array(sig[2..<10]))!
        signature = Array(sig[10..<74])
        globalSignature = global
    }

    private init(untrustedComment: String, trustedComment: String, keyID: KeyID, signature: [UInt8], globalSignature: [UInt8]) {
        self.untrustedComment = untrustedComment
        self.trustedComment = trustedComment
        self.keyID = keyID
        self.algorithm = [0x45, 0x44]
        self.signature = signature
        self.globalSignature = globalSignature
    }

    public static func create(for file: UnsafeRawBufferPointer, key: SecretKey, trustedComment: String,
                              untrustedComment: String = "signature from bundle-append secret key") -> MinisignSignature {
        let sig = key.signPrehashed(file)
        let global = key.sign(sig + Array(trustedComment.utf8))
        return MinisignSignature(untrustedComment: untrustedComment, trustedComment: trustedComment, keyID: key.keyID,
                                 signature: sig, globalSignature: global)
    }

    public var fileContents: String {
        "untrusted comment: \(untrustedComment)\n\(Base64.encode(algorithm + keyID.bytes + signature))\n"
            + "trusted comment: \(trustedComment)\n\(Base64.encode(globalSignature))\n"
    }

    /// Checks key id, the file signature and the global signature; the error says which failed.
    public func verify(file: UnsafeRawBufferPointer, publicKey: PublicKey) throws(CryptoError) {
        guard keyID == publicKey.keyID else {
            throw CryptoError("signature was made by key \(keyID.displayString), not \(publicKey.keyID.displayString)")
        }
        let ok = algorithm[1] == 0x44
            ? Ed25519.verifyPrehashed(signature: signature, message: file, publicKey: publicKey)
            : Ed25519.verify(signature: signature, message: file, publicKey: publicKey)
        guard ok else { throw CryptoError("signature verification failed: the file was modified or signed by another key") }
        let globalOK = (signature + Array(trustedComment.utf8)).withUnsafeBytes {
            Ed25519.verify(signature: globalSignature, message: $0, publicKey: publicKey)
        }
        guard globalOK else { throw CryptoError("trusted comment verification failed: the comment was modified") }
    }
}
