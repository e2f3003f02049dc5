/// The signature block: minisign's prehashed Ed25519 over the manifest header.
///
/// Layout (74 bytes): `"ED"`, 8-byte key id, 64-byte Ed25519 signature of BLAKE2b-512(header).
/// It is exactly the second line of a minisign signature of the header bytes, decoded.
public struct SignatureBlock: Equatable, Sendable {
    public static let size = 74
    public static let algorithm = SignatureAlgorithm.ed25519Prehashed
    public var keyID: [UInt8]
    public var signature: [UInt8]

    public init(keyID: [UInt8], signature: [UInt8]) {
        self.keyID = keyID
        self.signature = signature
    }

    public func encoded() -> [UInt8] { SignatureBlock.algorithm + keyID + signature }

    public init(decoding bytes: UnsafeRawBufferPointer) throws(BundleError) {
        try self.init(decoding: Array(bytes))
    }

    public init(decoding bytes: [UInt8]) throws(BundleError) {
        guard bytes.count == SignatureBlock.size else {
            throw BundleError(.badSignature, "signature block is \(bytes.count) bytes, expected \(SignatureBlock.size)")
        }
        guard SignatureAlgorithm.tags(bytes, SignatureBlock.algorithm) else {
            throw BundleError(.badSignature, "signature block: unknown algorithm (expected Ed25519 over BLAKE2b-512)")
        }
        keyID = Array(bytes[2..<10])
        signature = Array(bytes[10..<74])
    }
}
