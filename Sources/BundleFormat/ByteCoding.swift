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
/// so a hostile count or length fails with a `FormatError` instead of trapping.
public struct ByteReader {
    private let buffer: UnsafeRawBufferPointer
    public private(set) var offset: Int = 0
    /// What is being read, for error messages ("manifest header", "file table of layer 'x'").
    private let what: String

    public init(_ buffer: UnsafeRawBufferPointer, what: String) {
        self.buffer = buffer
        self.what = what
    }

    public var remaining: Int { buffer.count - offset }
    public var isAtEnd: Bool { offset == buffer.count }

    private mutating func take(_ n: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw FormatError("\(what) is truncated at byte \(offset)") }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + n)])
    }

    public mutating func u8() throws(FormatError) -> UInt8 { try take(1)[0] }
    public mutating func u32() throws(FormatError) -> UInt32 {
        let b = try take(4)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
    public mutating func u64() throws(FormatError) -> UInt64 {
        let b = try take(8)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(b[i]) }
        return v
    }
    public mutating func raw(_ n: Int) throws(FormatError) -> [UInt8] { Array(try take(n)) }

    /// A length-prefixed byte string of at most `limit` bytes.
    public mutating func bytes(limit: Int, field: String) throws(FormatError) -> [UInt8] {
        let n = try u32()
        guard n <= limit else { throw FormatError("\(what): \(field) is \(n) bytes, over the limit of \(limit)") }
        return try raw(Int(n))
    }

    /// A length-prefixed UTF-8 string; invalid UTF-8 or NUL bytes are refused.
    public mutating func string(limit: Int = Limits.maxStringLength, field: String) throws(FormatError) -> String {
        let b = try bytes(limit: limit, field: field)
        guard !b.contains(0), let s = String(validating: b, as: UTF8.self) else {
            throw FormatError("\(what): \(field) is not valid UTF-8 text")
        }
        return s
    }

    /// A count that must not exceed `limit` (checked before anything is allocated for it).
    public mutating func count(limit: Int, field: String) throws(FormatError) -> Int {
        let n = try u32()
        guard n <= limit else { throw FormatError("\(what): \(field) is \(n), over the limit of \(limit)") }
        return Int(n)
    }
}
