/// Rules for the names a bundle gives things, shared by the builder and the stub.
public enum Names {
    /// The longest bundle, layer or entry name, and the longest version, in bytes (docs/spec.md,
    /// docs/format.md): checked by the builder and by every reader of a manifest.
    public static let maximumLength = 64

    /// Bundle, layer and entry names: 1–64 bytes of `[A-Za-z0-9._-]`, starting with a letter or digit.
    /// Entry names are matched against the program's basename, and the bundle name becomes an
    /// environment-variable prefix and a cache directory name, so nothing else is allowed.
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maximumLength).contains(bytes.count) else { return false }
        for (i, b) in bytes.enumerated() {
            let alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            if i == 0 {
                if !alnum { return false }
            } else if !(alnum || b == 0x2E || b == 0x5F || b == 0x2D) {
                return false
            }
        }
        return true
    }

    /// The environment-variable prefix of a bundle: upper-cased, `.` and `-` become `_`.
    /// `hello` gives `HELLO` (so `HELLO_CACHE_DIR`), `my-app` gives `MY_APP`.
    public static func environmentPrefix(_ bundleName: String) -> String {
        var out: [UInt8] = []
        for b in bundleName.utf8 {
            if b >= 0x61 && b <= 0x7A {
                out.append(b - 0x20)
            } else if b == 0x2E || b == 0x2D {
                out.append(0x5F)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Names {
    /// Versions: 1–64 printable ASCII characters, no spaces (docs/spec.md). The version reaches
    /// the terminal (`--launcher info`), the bundle record and the runtime's environment, so a
    /// control character or a space is refused by the builder and by every reader.
    public static func isValidVersion(_ version: String) -> Bool {
        let bytes = version.utf8
        return (1...maximumLength).contains(bytes.count) && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
