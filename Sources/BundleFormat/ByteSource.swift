/// Where a streaming reader gets its bytes, front to back: a region of the bundle file for the
/// launcher (`BundleRuntime.TableSource`, which also hashes what it reads), an array for tools
/// and tests. A generic parameter, never an existential, so the stub pays no dynamic dispatch
/// and the code stays Embedded-Swift friendly.
public protocol ByteSource {
    /// Copies the next bytes into `buffer` (at most `buffer.count`); returns 0 only at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int
}

/// Bytes already in memory.
public struct ArraySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(BundleError) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        let start = offset
        bytes.withUnsafeBytes { b in buffer.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: n) }
        offset += n
        return n
    }
}

/// The fixed buffer of a `StreamingByteReader`: a class only so that it is freed when the last copy
/// of the reader goes away (a struct cannot have a deinit without becoming non-copyable).
final class ReadBuffer {
    let bytes: UnsafeMutableRawBufferPointer
    init(capacity: Int) { bytes = .allocate(byteCount: capacity, alignment: 16) }
    deinit { bytes.deallocate() }
}

/// Bounds-checked little-endian reader over a `ByteSource`, holding one fixed buffer
/// (`capacity` bytes) whatever the length of the input: the streaming twin of `ByteReader`.
/// Every field it reads is at most `capacity` bytes long.
public struct StreamingByteReader<Source: ByteSource> {
    public static var capacity: Int { 64 << 10 }
    /// The source, for callers that must read what is left (to hash it) after an error.
    public var source: Source
    private let buffer = ReadBuffer(capacity: StreamingByteReader.capacity)
    private var start = 0
    private var end = 0
    private var sourceDone = false
    /// Bytes consumed so far.
    public private(set) var offset: UInt64 = 0
    private let what: String

    public init(_ source: Source, what: String) {
        self.source = source
        self.what = what
    }

    /// True when at least `n` bytes are buffered, reading from the source as needed.
    private mutating func ensure(_ n: Int) throws(BundleError) -> Bool {
        if end - start >= n { return true }
        let base = buffer.bytes.baseAddress!
        if start > 0 {
            if end > start { (base).copyMemory(from: base + start, byteCount: end - start) }
            end -= start
            start = 0
        }
        while end < n && !sourceDone {
            let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[end...]))
            if got == 0 { sourceDone = true } else { end += got }
        }
        return end - start >= n
    }

    public mutating func isAtEnd() throws(BundleError) -> Bool { try !ensure(1) }

    private mutating func take(_ n: Int) throws(BundleError) -> Int {
        guard n >= 0, n <= buffer.bytes.count, try ensure(n) else {
            throw BundleError(.truncated, "\(what) is truncated at byte \(offset)")
        }
        defer { start += n; offset += UInt64(n) }
        return start
    }

    public mutating func u8() throws(BundleError) -> UInt8 { buffer.bytes[try take(1)] }
    public mutating func u32() throws(BundleError) -> UInt32 {
        let i = try take(4)
        let b = buffer.bytes
        return UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    public mutating func u64() throws(BundleError) -> UInt64 {
        let i = try take(8)
        var v: UInt64 = 0
        for k in (0..<8).reversed() { v = v << 8 | UInt64(buffer.bytes[i + k]) }
        return v
    }
    public mutating func raw(_ n: Int) throws(BundleError) -> [UInt8] {
        let i = try take(n)
        return Array(UnsafeRawBufferPointer(rebasing: buffer.bytes[i..<(i + n)]))
    }
    /// A length-prefixed byte string of at most `limit` bytes (`limit` ≤ `capacity` - 4).
    public mutating func bytes(limit: Int, field: String) throws(BundleError) -> [UInt8] {
        let n = try u32()
        guard n <= limit else {
            throw BundleError(.tooLarge, "\(what): \(field) is \(n) bytes, over the limit of \(limit)")
        }
        return try raw(Int(n))
    }
}
