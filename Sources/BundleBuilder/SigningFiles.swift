import BundleCrypto

/// The minisign files the packager writes: a key pair (`bundle-append keygen`, an app build's
/// development key), a detached signature of a file (`FILE.minisig`) and the public key that
/// checks it. Written atomically; the secret key with mode 0600.
public enum SigningFiles {
    /// Writes `key` unencrypted to `secretPath` (mode 0600) and its public key to `publicPath`.
    public static func writeKeyPair(_ key: SecretKey, secretPath: String, publicPath: String) throws(BuildError) {
        try BundleBuild.writeAtomically(Array(key.unencryptedFileContents.utf8), to: secretPath, mode: 0o600)
        try writePublicKey(key.publicKey, to: publicPath)
    }

    public static func writePublicKey(_ key: PublicKey, to path: String) throws(BuildError) {
        try BundleBuild.writeAtomically(Array(key.fileContents.utf8), to: path, mode: 0o644)
    }

    /// Writes a minisign signature file (`MinisignSignature.create`), one that
    /// `minisign -Vm FILE -p KEY.pub` accepts.
    public static func writeSignature(_ signature: MinisignSignature, to path: String) throws(BuildError) {
        try BundleBuild.writeAtomically(Array(signature.fileContents.utf8), to: path, mode: 0o644)
    }
}
