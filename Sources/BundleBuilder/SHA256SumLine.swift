/// One line of `sha256sum` output, parsed in one place for every caller: `<64 hex>  <name>`
/// (` *<name>` in binary mode). GNU sha256sum prints a name holding a backslash, newline or
/// carriage return escaped (`\\`, `\n`, `\r`) and then starts the line with a backslash.
public struct SHA256SumLine: Equatable, Sendable {
    /// Hex digits of a SHA-256 digest.
    public static let digestLength = 64

    public let digest: String
    public let name: String

    /// Nil for anything that is not such a line.
    public init?<S: StringProtocol>(_ line: S) {
        var bytes = Array(line.utf8)
        let escaped = bytes.first == UInt8(ascii: "\\")
        if escaped { bytes.removeFirst() }
        let n = SHA256SumLine.digestLength
        guard bytes.count > n + 2, bytes[n] == UInt8(ascii: " "),
            bytes[n + 1] == UInt8(ascii: " ") || bytes[n + 1] == UInt8(ascii: "*"),
            bytes[0..<n].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { return nil }
        var name: [UInt8] = []
        var i = n + 2
        while i < bytes.count {
            if escaped, bytes[i] == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { return nil }
                switch bytes[i + 1] {
                case UInt8(ascii: "\\"): name.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "n"): name.append(0x0A)
                case UInt8(ascii: "r"): name.append(0x0D)
                default: return nil
                }
                i += 2
            } else {
                name.append(bytes[i])
                i += 1
            }
        }
        digest = String(decoding: bytes[0..<n], as: UTF8.self)
        self.name = String(decoding: name, as: UTF8.self)
    }
}
