/// `{layer}` placeholders in entry argv and env templates.
///
/// `{name}` stands for the absolute path of the extracted layer `name`; `{{` and `}}`
/// stand for literal braces. The builder uses `names(in:)` to validate a spec, the stub
/// uses `substitute` at launch: one parser, so both agree on what a template means.
/// A malformed template throws `BundleError(.badPlaceholder)`: an unterminated `{name`, an empty
/// `{}`, or a `}` that is not part of `}}`.
public enum Placeholders {
    /// Splits a template into literal text and placeholder names.
    public enum Piece: Equatable, Sendable {
        case literal([UInt8])
        case placeholder(String)
    }

    public static func parse(_ template: String) throws(BundleError) -> [Piece] {
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        let bytes = Array(template.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "{") {
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "{") {
                    literal.append(b); i += 2; continue
                }
                var j = i + 1
                while j < bytes.count, bytes[j] != UInt8(ascii: "}") { j += 1 }
                guard j < bytes.count else {
                    throw BundleError(.badPlaceholder, "unterminated placeholder (a { without its })")
                }
                guard j > i + 1 else { throw BundleError(.badPlaceholder, "empty placeholder {}") }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = [] }
                pieces.append(.placeholder(String(decoding: bytes[(i + 1)..<j], as: UTF8.self)))
                i = j + 1
            } else if b == UInt8(ascii: "}") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "}") else {
                    throw BundleError(.badPlaceholder, "stray } (write }} for a literal brace)")
                }
                literal.append(b); i += 2
            } else {
                literal.append(b); i += 1
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }

    /// The placeholder names a template uses, in order of first use.
    public static func names(in template: String) throws(BundleError) -> [String] {
        var seen: [String] = []
        for case .placeholder(let name) in try parse(template) where !seen.containsBytes(name) {
            seen.append(name)
        }
        return seen
    }

    /// Replaces every placeholder with `resolve(name)`; returns nil if a name does not resolve.
    public static func substitute(_ template: String, _ resolve: (String) -> String?) throws(BundleError) -> String? {
        var out: [UInt8] = []
        for piece in try parse(template) {
            switch piece {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .placeholder(let name):
                guard let value = resolve(name) else { return nil }
                out.append(contentsOf: value.utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
