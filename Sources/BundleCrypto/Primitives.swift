import CSodium

/// libsodium initialisation. Every entry point of this module that needs libsodium calls
/// `initialize()` itself, so callers never have to remember to; it is cheap after the first call.
public enum Sodium {
    /// `sodium_init` is idempotent and thread-safe (returns 1 when already done). It only fails when
    /// no randomness source exists; libsodium 1.0.18 uses getrandom(2), so it works in a static binary.
    public static func initialize() {
        _ = sodium_init()
    }
}

/// Streaming BLAKE2b (libsodium `crypto_generichash`, unkeyed), 32 bytes by default.
///
/// A final class rather than the struct first sketched: libsodium's state is a 64-byte-aligned
/// C struct that Swift only sees as opaque bytes (Swift storage does not promise that alignment),
/// so it lives in memory allocated and freed here, and copying a struct around it would alias it.
/// Existing callers hold hashers in `let`; `var` works too.
/// Not `Sendable`: use one hasher per task.
public final class Blake2b {
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int
    private var digest: [UInt8]?

    /// `outputLength` must be 16...64 bytes (libsodium's range); minisign uses 32 for its
    /// key checksum and 64 for prehashing files.
    public init(outputLength: Int = 32) {
        precondition(
            outputLength >= crypto_generichash_bytes_min() && outputLength <= crypto_generichash_bytes_max(),
            "BLAKE2b output length must be 16...64 bytes")
        Sodium.initialize()
        self.outputLength = outputLength
        state = .allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        crypto_generichash_init(OpaquePointer(state), nil, 0, outputLength)
    }

    deinit {
        sodium_memzero(state, crypto_generichash_statebytes())
        state.deallocate()
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(digest == nil, "Blake2b.update after finalize")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        crypto_generichash_update(OpaquePointer(state), base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest. Calling it again returns the same digest (libsodium itself would refuse a
    /// second finalisation); updating after it is a programming error.
    public func finalize() -> [UInt8] {
        if let digest { return digest }
        var out = [UInt8](repeating: 0, count: outputLength)
        crypto_generichash_final(OpaquePointer(state), &out, outputLength)
        digest = out
        return out
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer, outputLength: Int = 32) -> [UInt8] {
        let h = Blake2b(outputLength: outputLength)
        h.update(bytes)
        return h.finalize()
    }

    public static func hash(_ bytes: [UInt8], outputLength: Int = 32) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0, outputLength: outputLength) }
    }
}

/// Lower- or upper-case hex; `decode` accepts either case and refuses anything else (no spaces, no "0x").
public enum Hex {
    public static func encode(_ bytes: some Collection<UInt8>, uppercase: Bool = false) -> String {
        let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// Standard base64 with padding (libsodium's "original" variant), as minisign writes it.
/// `decode` refuses anything that is not exactly base64: whitespace inside, missing padding,
/// trailing garbage. Callers trim the line ends themselves.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Sodium.initialize()
        let variant = Int32(sodium_base64_VARIANT_ORIGINAL)
        let len = sodium_base64_encoded_len(bytes.count, variant)
        var out = [CChar](repeating: 0, count: len)
        _ = bytes.withUnsafeBufferPointer { b in sodium_bin2base64(&out, len, b.baseAddress, bytes.count, variant) }
        // `len` counts the terminating NUL.
        return String(decoding: out.prefix(len - 1).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func decode(_ s: String) -> [UInt8]? {
        Sodium.initialize()
        let input = Array(s.utf8)
        guard !input.isEmpty else { return [] }
        // libsodium reads a byte >= 0x80 through a signed char and can take it for '/' (found by
        // ParserRobustnessTests): only the 65 characters of the alphabet are passed to it.
        guard input.allSatisfy(isAlphabet) else { return nil }
        var out = [UInt8](repeating: 0, count: input.count)
        var written = 0
        let complete = input.withUnsafeBufferPointer { b -> Bool in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { c -> Bool in
                var end: UnsafePointer<CChar>? = nil
                let r = sodium_base642bin(
                    &out, out.count, c, b.count, nil, &written, &end, Int32(sodium_base64_VARIANT_ORIGINAL))
                // libsodium stops quietly at the first non-base64 character: refuse trailing garbage too.
                return r == 0 && end == c + b.count
            }
        }
        return complete ? Array(out[0..<written]) : nil
    }

    /// `A-Z a-z 0-9 + / =`.
    private static func isAlphabet(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2F
            || b == 0x3D
    }
}
