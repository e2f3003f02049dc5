/// minisign's two-byte algorithm tags, in key files, signature files, the launcher's key slot and
/// the bundle's signature block (docs/format.md). Named once here; BundleCrypto uses them too.
public enum SignatureAlgorithm {
    /// `"Ed"`: Ed25519 over the message itself. Every minisign key carries this tag; signatures
    /// with it are minisign's legacy format.
    public static let ed25519: [UInt8] = [0x45, 0x64]
    /// `"ED"`: Ed25519 over BLAKE2b-512 of the message. What minisign signs with by default, and
    /// the only tag of a bundle's signature block.
    public static let ed25519Prehashed: [UInt8] = [0x45, 0x44]

    /// Whether `bytes` starts with `tag`.
    public static func tags(_ bytes: [UInt8], _ tag: [UInt8]) -> Bool {
        bytes.count >= tag.count && Array(bytes.prefix(tag.count)) == tag
    }
}
