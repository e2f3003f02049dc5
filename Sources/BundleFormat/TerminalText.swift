/// Text from a bundle, a file table or the file system, made safe to print on one line.
///
/// A signed manifest or a file name can hold CR, ESC or NUL; printed raw they would rewrite
/// the user's terminal or split one message into two (docs/security.md, "Messages"). The
/// launcher passes everything it prints about such values through here.
public enum TerminalText {
    /// `s` with every control character escaped: C0 controls and DEL as `\xNN` (so LF, CR, ESC,
    /// NUL and BEL never reach the terminal), C1 controls and the bidirectional-override marks as
    /// `\u{NNNN}`. Everything else, backslashes included, is unchanged, so escaping an escaped
    /// text changes nothing and the result is always one line.
    public static func escaped(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            let v = u.value
            if v < 0x20 || v == 0x7F {
                out += "\\x" + hex(v, digits: 2)
            } else if (0x80...0x9F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
                || v == 0x200E || v == 0x200F
            {
                out += "\\u{" + hex(v, digits: 4) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Bytes shown as text: valid UTF-8 as `escaped` text, other bytes as `\xNN`; at most
    /// `limit` bytes are shown, then `...`.
    public static func shown(_ bytes: [UInt8], limit: Int = 4096) -> String {
        let cut = bytes.count > limit ? Array(bytes[..<limit]) : bytes
        let suffix = bytes.count > limit ? "..." : ""
        if let s = String(validating: cut, as: UTF8.self) { return escaped(s) + suffix }
        var out = ""
        for b in cut {
            if b >= 0x20 && b < 0x7F {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + hex(UInt32(b), digits: 2)
            }
        }
        return out + suffix
    }

    /// A string shown like `shown(_:)`: escaped and cut to `limit` bytes.
    public static func shown(_ s: String, limit: Int = 4096) -> String {
        guard s.utf8.count > limit else { return escaped(s) }
        var kept = String.UnicodeScalarView()
        var n = 0
        for u in s.unicodeScalars {
            n += UTF8.width(u)
            if n > limit { break }
            kept.append(u)
        }
        return escaped(String(kept)) + "..."
    }

    private static func hex(_ v: UInt32, digits: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, digits - h.utf8.count)) + h
    }
}
