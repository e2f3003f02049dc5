/// Little-endian writer for the manifest encodings (docs/format.md, "Encoding").
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    /// A string or byte string: u32 length, then the bytes.
    public mutating func string(_ v: [UInt8]) { u32(UInt32(v.count)); bytes.append(contentsOf: v) }
    public mutating func string(_ v: String) { string(Array(v.utf8)) }
}

/// Bounds-checked little-endian reader. Every read checks the remaining length first,
/// so a hostile count or length fails with a `BundleError` (`.truncated`, `.tooLarge`) instead of trapping.
///
/// It reads from an array, not a pointer, so the launcher can decode the bytes it `pread`
/// without closures or generic wrappers (each costs run-time metadata work at start-up).
public struct ByteReader {
    private let buffer: [UInt8]
    public private(set) var offset: Int = 0
    /// What is being read, for error messages ("manifest header", "file table of layer 'x'").
    private let what: String
    /// The code for malformed content (text that is not UTF-8): `.badManifest` for a manifest.
    private let code: BundleError.Code

    public init(_ bytes: [UInt8], what: String, code: BundleError.Code) {
        self.buffer = bytes
        self.what = what
        self.code = code
    }

    public init(_ buffer: UnsafeRawBufferPointer, what: String, code: BundleError.Code) {
        self.init(Array(buffer), what: what, code: code)
    }

    public var remaining: Int { buffer.count - offset }
    public var isAtEnd: Bool { offset == buffer.count }

    private mutating func take(_ n: Int) throws(BundleError) -> Int {
        guard n >= 0, n <= remaining else { throw BundleError(.truncated, "\(what) is truncated at byte \(offset)") }
        defer { offset += n }
        return offset
    }

    public mutating func u8() throws(BundleError) -> UInt8 { buffer[try take(1)] }
    public mutating func u32() throws(BundleError) -> UInt32 {
        let i = try take(4)
        return UInt32(buffer[i]) | UInt32(buffer[i + 1]) << 8 | UInt32(buffer[i + 2]) << 16 | UInt32(buffer[i + 3])
            << 24
    }
    public mutating func u64() throws(BundleError) -> UInt64 {
        let i = try take(8)
        var v: UInt64 = 0
        for k in (0..<8).reversed() { v = v << 8 | UInt64(buffer[i + k]) }
        return v
    }
    public mutating func raw(_ n: Int) throws(BundleError) -> [UInt8] {
        let i = try take(n)
        return Array(buffer[i..<(i + n)])
    }

    /// A length-prefixed byte string of at most `limit` bytes.
    public mutating func bytes(limit: Int, field: String) throws(BundleError) -> [UInt8] {
        let n = try u32()
        guard n <= limit else {
            throw BundleError(.tooLarge, "\(what): \(field) is \(n) bytes, over the limit of \(limit)")
        }
        return try raw(Int(n))
    }

    /// A length-prefixed UTF-8 string; invalid UTF-8 or NUL bytes are refused.
    public mutating func string(limit: Int = Limits.maxStringLength, field: String) throws(BundleError) -> String {
        let b = try bytes(limit: limit, field: field)
        guard !b.contains(0), let s = String(validating: b, as: UTF8.self) else {
            throw BundleError(code, "\(what): \(field) is not valid UTF-8 text")
        }
        return s
    }

    /// A count that must not exceed `limit` (checked before anything is allocated for it).
    public mutating func count(limit: Int, field: String) throws(BundleError) -> Int {
        let n = try u32()
        guard n <= limit else { throw BundleError(.tooLarge, "\(what): \(field) is \(n), over the limit of \(limit)") }
        return Int(n)
    }
}
