/// Text compared, ordered, split and trimmed as its UTF-8 bytes, never as Unicode characters.
///
/// The launcher uses these instead of String's `==`, `<`, `hasPrefix`, `split`, `switch` on a
/// literal, hashing (a Set or Dictionary keyed by String: it keys by `[UInt8]` or scans a small
/// array instead) and Character iteration (`count`, `first`, `prefix`, `dropFirst`). Those treat
/// canonically equivalent text as equal and cut text into grapheme clusters, so they need Swift's
/// Unicode normalisation and grapheme tables. Two reasons:
///
/// - Bytes are the right meaning for a launcher. A layer, entry or file name in the signed manifest,
///   a path, an environment variable and an argument are byte strings to the kernel; two different
///   byte strings must never compare equal (NFC "é" `C3 A9` and NFD "é" `65 CC 81` are two names,
///   two files), and an order used for output is the byte order, the same on every machine
///   (docs/security.md, "Names are bytes").
/// - The launcher links without `libswiftUnicodeDataTables.a` (scripts/build-stub.sh): a launcher
///   function reaching the tables fails the link, which is the guard that keeps it this way.
///
/// Not only the obvious calls reach the tables: unoptimised (debug stub) Embedded Swift compares a
/// `String?` with `nil` by String's `==`, so launcher code tests one with `case .some`/`.none`.
///
/// Tool-only code (the builder, the tests) may keep using String's own operations.
extension String {
    /// Whether the two strings are the same bytes.
    public func bytesEqual(_ other: String) -> Bool { utf8.elementsEqual(other.utf8) }

    /// Whether the string's bytes start with `prefix`'s bytes.
    public func hasBytePrefix(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }

    /// Whether the string's bytes end with `suffix`'s bytes.
    public func hasByteSuffix(_ suffix: String) -> Bool {
        let n = utf8.count, m = suffix.utf8.count
        return n >= m && utf8.dropFirst(n - m).elementsEqual(suffix.utf8)
    }

    /// The rest of the string after `prefix`'s bytes, or nil when it does not start with them.
    public func droppingBytePrefix(_ prefix: String) -> String? {
        guard hasBytePrefix(prefix) else { return nil }
        return String(decoding: utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    }

    /// Whether the string comes before `other` in byte order (lexicographic on UTF-8 bytes, a
    /// shorter prefix first): the order of `strcmp`, the same on every machine.
    public func bytesPrecede(_ other: String) -> Bool { utf8.lexicographicallyPrecedes(other.utf8) }

    /// Whether `needle`'s bytes occur in the string's bytes (an empty needle always does).
    public func containsBytes(_ needle: String) -> Bool {
        let h = Array(utf8), n = Array(needle.utf8)
        guard n.count <= h.count else { return false }
        var i = 0
        while i + n.count <= h.count {
            if h[i..<(i + n.count)].elementsEqual(n) { return true }
            i += 1
        }
        return false
    }

    /// The pieces between occurrences of the ASCII byte `separator`. Splitting valid UTF-8 at an
    /// ASCII byte leaves valid UTF-8, so the pieces are exactly the original bytes.
    public func splitBytes(at separator: UInt8, omittingEmpty: Bool = true) -> [String] {
        var pieces: [String] = []
        var piece: [UInt8] = []
        for b in utf8 {
            if b == separator {
                if !omittingEmpty || !piece.isEmpty { pieces.append(String(decoding: piece, as: UTF8.self)) }
                piece.removeAll(keepingCapacity: true)
            } else {
                piece.append(b)
            }
        }
        if !omittingEmpty || !piece.isEmpty { pieces.append(String(decoding: piece, as: UTF8.self)) }
        return pieces
    }

    /// The first `n` Unicode scalars of the string (for ASCII, `n` bytes): a shortened display.
    public func prefixScalars(_ n: Int) -> String {
        String(String.UnicodeScalarView(unicodeScalars.prefix(n)))
    }

    /// The string without leading and trailing ASCII spaces, tabs, CRs and LFs.
    public func trimmingASCIISpaces() -> String {
        let b = Array(utf8)
        func space(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        var start = 0, end = b.count
        while start < end, space(b[start]) { start += 1 }
        while end > start, space(b[end - 1]) { end -= 1 }
        if start == 0 && end == b.count { return self }
        return String(decoding: b[start..<end], as: UTF8.self)
    }
}

extension Array where Element == String {
    /// Whether one of the strings is `s`'s bytes (a linear scan: the launcher's lists are small).
    public func containsBytes(_ s: String) -> Bool { contains { $0.bytesEqual(s) } }

    /// The strings in byte order (`String.bytesPrecede`).
    public func sortedByBytes() -> [String] { sorted { $0.bytesPrecede($1) } }
}
