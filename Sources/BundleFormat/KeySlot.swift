/// The public-key slot compiled into the stub (Sources/CKeySlot) and patched by bundle-append.
///
/// Layout (docs/format.md, "Key slot"), 96 bytes: a 32-byte marker that occurs exactly once
/// in the stub file, a state byte, a reserved zero byte, 42 bytes of minisign public key
/// (`"Ed"`, key id, Ed25519 key), 20 zero bytes. The key lives in the stub copy, not in the
/// appended data, so replacing the appended data cannot replace the key that checks it.
public enum KeySlot: Equatable, Sendable {
    /// An unpatched stub: it runs nothing.
    case empty
    /// The stub runs only bundles signed by this key (the 42 minisign key bytes).
    case pinned(keyBytes: [UInt8])
    /// Built with `--unsigned`: the stub checks digests but no signature, and says so.
    case unsigned

    public static let size = 96
    /// `DGMO-BUNDLE-KEY-SLOT-V1-7f3c9ae1`, spelled backwards here on purpose: this module is
    /// linked into the stub too, and a forward literal would be a second copy of the marker
    /// in the stub's file, making the real slot impossible to find.
    public static let marker: [UInt8] = Array("1ea9c3f7-1V-TOLS-YEK-ELDNUB-OMGD".utf8.reversed())
    public static let keyLength = 42

    public init(decoding bytes: UnsafeRawBufferPointer) throws(BundleError) {
        try self.init(decoding: Array(bytes))
    }

    public init(decoding bytes: [UInt8]) throws(BundleError) {
        guard bytes.count >= KeySlot.size, bytes.prefix(32).elementsEqual(KeySlot.marker) else {
            throw BundleError(.badKey, "key slot: marker not found")
        }
        switch bytes[32] {
        case 0: self = .empty
        case 1:
            let key = Array(bytes[34..<(34 + KeySlot.keyLength)])
            guard SignatureAlgorithm.tags(key, SignatureAlgorithm.ed25519) else {
                throw BundleError(.badKey, "key slot: not an Ed25519 key")
            }
            self = .pinned(keyBytes: key)
        case 2: self = .unsigned
        default: throw BundleError(.badKey, "key slot: unknown state \(bytes[32])")
        }
    }

    public func encoded() -> [UInt8] {
        var out = KeySlot.marker
        switch self {
        case .empty: out += [0, 0] + [UInt8](repeating: 0, count: KeySlot.keyLength)
        case .pinned(let key): out += [1, 0] + key
        case .unsigned: out += [2, 0] + [UInt8](repeating: 0, count: KeySlot.keyLength)
        }
        return out + [UInt8](repeating: 0, count: KeySlot.size - out.count)
    }
}
