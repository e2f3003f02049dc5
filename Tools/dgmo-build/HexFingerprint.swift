import BundleCrypto

extension Hex {
    /// A stable fingerprint of text for stamps (BLAKE2b-256 through BundleCrypto): the toolchain
    /// and the engine build are redone when their inputs' fingerprint changes.
    static func fingerprint(_ s: String) -> String { Hex.encode(Blake2b.hash(Array(s.utf8))) }
}
