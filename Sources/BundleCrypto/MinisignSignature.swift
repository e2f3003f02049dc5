import BundleFormat

/// A minisign `.minisig` file: a signature over a whole file, plus a trusted comment that is
/// signed together with that signature (the "global signature"), so the comment cannot be swapped.
public struct MinisignSignature: Sendable {
    public var untrustedComment: String
    public var trustedComment: String
    public var keyID: KeyID
    /// "ED" (prehashed: Ed25519 over BLAKE2b-512 of the file, what minisign writes by default and
    /// what `create` writes) or legacy "Ed" (Ed25519 over the raw file), accepted when verifying.
    public var algorithm: [UInt8]
    public var signature: [UInt8]
    public var globalSignature: [UInt8]

    private static let untrustedPrefix = "untrusted comment: "
    private static let trustedPrefix = "trusted comment: "

    /// Parses the four lines; CRLF line ends and lines after the fourth are tolerated, as minisign does.
    public init(fileContents: String) throws(BundleError) {
        let ls = lines(fileContents)
        guard ls.count >= 4 else {
            throw BundleError(.badSignature, "signature file: not in minisign format (expected 4 lines)")
        }
        guard let untrusted = ls[0].droppingBytePrefix(Self.untrustedPrefix) else {
            throw BundleError(.badSignature, "signature file: line 1 does not start with \"untrusted comment: \"")
        }
        guard let trusted = ls[2].droppingBytePrefix(Self.trustedPrefix) else {
            throw BundleError(.badSignature, "signature file: line 3 does not start with \"trusted comment: \"")
        }
        guard let sig = Base64.decode(ls[1].trimmingASCIISpaces()) else {
            throw BundleError(.badSignature, "signature file: signature line is not base64")
        }
        guard sig.count == 74 else {
            throw BundleError(.badSignature, "signature file: signature line has \(sig.count) bytes, expected 74")
        }
        guard
            SignatureAlgorithm.tags(sig, SignatureAlgorithm.ed25519Prehashed)
                || SignatureAlgorithm.tags(sig, SignatureAlgorithm.ed25519)
        else {
            throw BundleError(.badSignature, "signature file: unknown signature algorithm (neither \"ED\" nor \"Ed\")")
        }
        guard let global = Base64.decode(ls[3].trimmingASCIISpaces()) else {
            throw BundleError(.badSignature, "signature file: global signature line is not base64")
        }
        guard global.count == 64 else {
            throw BundleError(.badSignature, "signature file: global signature has \(global.count) bytes, expected 64")
        }
        untrustedComment = untrusted
        trustedComment = trusted
        algorithm = Array(sig[0..<2])
        keyID = KeyID(bytes: Array(sig[2..<10]))!
        signature = Array(sig[10..<74])
        globalSignature = global
    }

    private init(
        untrustedComment: String, trustedComment: String, keyID: KeyID, signature: [UInt8], globalSignature: [UInt8]
    ) {
        self.untrustedComment = untrustedComment
        self.trustedComment = trustedComment
        self.keyID = keyID
        self.algorithm = SignatureAlgorithm.ed25519Prehashed
        self.signature = signature
        self.globalSignature = globalSignature
    }

    /// Signs `file` the way `minisign -S` does (prehashed "ED"). Comments are one line each in the
    /// file format, so any CR or LF in them is replaced by a space before signing.
    public static func create(
        for file: UnsafeRawBufferPointer, key: SecretKey, trustedComment: String,
        untrustedComment: String = "signature from bundle-append secret key"
    ) -> MinisignSignature {
        let trusted = oneLine(trustedComment), untrusted = oneLine(untrustedComment)
        let sig = key.signPrehashed(file)
        let global = key.sign(sig + Array(trusted.utf8))
        return MinisignSignature(
            untrustedComment: untrusted, trustedComment: trusted, keyID: key.keyID,
            signature: sig, globalSignature: global)
    }

    private static func oneLine(_ s: String) -> String {
        String(s.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }

    /// The `.minisig` text, as minisign writes it.
    public var fileContents: String {
        "\(Self.untrustedPrefix)\(untrustedComment)\n\(Base64.encode(algorithm + keyID.bytes + signature))\n"
            + "\(Self.trustedPrefix)\(trustedComment)\n\(Base64.encode(globalSignature))\n"
    }

    /// Checks key id, the file signature and the global signature; the error names which failed.
    /// The key id is checked first only to give a clearer message; the signatures decide.
    public func verify(file: UnsafeRawBufferPointer, publicKey: PublicKey) throws(BundleError) {
        guard keyID == publicKey.keyID else {
            throw BundleError(
                .untrustedKey,
                "signature was made by key \(keyID.displayString), not by the trusted key \(publicKey.keyID.displayString)"
            )
        }
        let ok: Bool
        switch algorithm {
        case SignatureAlgorithm.ed25519Prehashed:
            ok = Ed25519.verifyPrehashed(signature: signature, message: file, publicKey: publicKey)
        case SignatureAlgorithm.ed25519: ok = Ed25519.verify(signature: signature, message: file, publicKey: publicKey)
        default: throw BundleError(.badSignature, "signature: unknown signature algorithm (neither \"ED\" nor \"Ed\")")
        }
        guard ok else {
            throw BundleError(
                .badSignature, "signature verification failed: the file was modified or signed by another key")
        }
        let globalOK = (signature + Array(trustedComment.utf8)).withUnsafeBytes {
            Ed25519.verify(signature: globalSignature, message: $0, publicKey: publicKey)
        }
        guard globalOK else {
            throw BundleError(.badSignature, "trusted comment verification failed: the comment was modified")
        }
    }
}
