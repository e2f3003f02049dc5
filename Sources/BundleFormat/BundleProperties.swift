/// The optional, signed facts a bundle's `[bundle]` table may add to its name and version: the
/// names the launcher uses for itself (its environment prefix and its cache directory), and
/// metadata people read (description, homepage, license, vendor, icon).
///
/// They live in the manifest header, after the target (docs/format.md, "Properties"), so one
/// signature covers them with everything else. Each has one encoding: a property equal to its
/// default is left out, and a header holding none ends as it did before properties existed.
public struct BundleProperties: Equatable, Sendable {
    /// The prefix of the launcher's variables (`<PREFIX>_CACHE_DIR`, `<PREFIX>_ENTRY`,
    /// `<PREFIX>_BUNDLE_*`). nil: the app name's prefix (`Names.environmentPrefix`), as every
    /// bundle had before properties; the spec's default is not nil (`defaultEnvironmentPrefix`).
    public var environmentPrefix: String?
    /// The cache directory's name (`~/.cache/<cache-name>`, `/var/cache/<cache-name>`). nil: the
    /// app name, as before properties.
    public var cacheName: String?
    public var description: String?
    public var homepage: String?
    /// An SPDX license expression (`MIT`, `Apache-2.0 OR MIT`).
    public var license: String?
    public var vendor: String?
    /// `{layer}/path`: a file a layer holds.
    public var icon: String?

    public init(
        environmentPrefix: String? = nil, cacheName: String? = nil, description: String? = nil,
        homepage: String? = nil, license: String? = nil, vendor: String? = nil, icon: String? = nil
    ) {
        self.environmentPrefix = environmentPrefix
        self.cacheName = cacheName
        self.description = description
        self.homepage = homepage
        self.license = license
        self.vendor = vendor
        self.icon = icon
    }

    /// The keys, in the order they are encoded (ascending bytes), as the spec spells them.
    public static let keys = ["cache-name", "description", "env-prefix", "homepage", "icon", "license", "vendor"]

    /// The spec's default prefix when it names none: `<APP>_LAUNCHER`, so the launcher's variables
    /// never take the app's own (`BLACK_CACHE_DIR` is black's; `BLACK_LAUNCHER_CACHE_DIR` is ours).
    public static func defaultEnvironmentPrefix(appName: String) -> String {
        Names.environmentPrefix(appName) + "_LAUNCHER"
    }
    /// The spec's default cache directory name: `<app>-launcher` (`~/.cache/black` is black's).
    public static func defaultCacheName(appName: String) -> String { appName + "-launcher" }

    /// (key, value) for every property set, in key order: what the manifest stores.
    public var pairs: [(String, String)] {
        var out: [(String, String)] = []
        for key in BundleProperties.keys {
            if let v = value(key) { out.append((key, v)) }
        }
        return out
    }

    public var isEmpty: Bool { pairs.isEmpty }

    public func value(_ key: String) -> String? {
        if key.bytesEqual("cache-name") { return cacheName }
        if key.bytesEqual("description") { return description }
        if key.bytesEqual("env-prefix") { return environmentPrefix }
        if key.bytesEqual("homepage") { return homepage }
        if key.bytesEqual("icon") { return icon }
        if key.bytesEqual("license") { return license }
        if key.bytesEqual("vendor") { return vendor }
        return nil
    }

    /// Sets a known key; false for an unknown one.
    public mutating func set(_ key: String, _ value: String) -> Bool {
        if key.bytesEqual("cache-name") {
            cacheName = value
        } else if key.bytesEqual("description") {
            description = value
        } else if key.bytesEqual("env-prefix") {
            environmentPrefix = value
        } else if key.bytesEqual("homepage") {
            homepage = value
        } else if key.bytesEqual("icon") {
            icon = value
        } else if key.bytesEqual("license") {
            license = value
        } else if key.bytesEqual("vendor") {
            vendor = value
        } else {
            return false
        }
        return true
    }

    /// What is wrong with `value` for `key`, or nil when it is valid. `layers` are the bundle's
    /// layer names (an icon names one of them). Shared by the spec parser and every reader.
    public static func problem(key: String, value: String, appName: String, layers: [String]) -> String? {
        let bytes = Array(value.utf8)
        if key.bytesEqual("env-prefix") {
            // An environment name's start: a letter, then A-Z 0-9 _, so `<PREFIX>_CACHE_DIR` is a name
            // every shell can set (upper case: Windows folds case, POSIX does not).
            guard (1...Names.maximumLength).contains(bytes.count), let first = bytes.first,
                first >= 0x41 && first <= 0x5A,
                bytes.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }),
                bytes.last != 0x5F
            else {
                return
                    "'\(TerminalText.shown(value))' must be 1-\(Names.maximumLength) characters of A-Z 0-9 _, starting with a letter and not ending with _"
            }
            return nil
        }
        if key.bytesEqual("cache-name") {
            guard Names.isValid(value) else {
                return
                    "'\(TerminalText.shown(value))' must be 1-\(Names.maximumLength) characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"
            }
            return nil
        }
        if key.bytesEqual("description") || key.bytesEqual("vendor") {
            let limit = key.bytesEqual("description") ? 1024 : 256
            guard (1...limit).contains(bytes.count), isOneLineText(value) else {
                return "must be 1-\(limit) bytes of text on one line, without control characters"
            }
            return nil
        }
        if key.bytesEqual("homepage") {
            guard (1...512).contains(bytes.count), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
                value.hasBytePrefix("https://") || value.hasBytePrefix("http://"), bytes.count > 8
            else {
                return
                    "'\(TerminalText.shown(value))' must be an http:// or https:// URL of at most 512 printable ASCII characters, without spaces"
            }
            return nil
        }
        if key.bytesEqual("license") {
            return licenseProblem(value)
        }
        if key.bytesEqual("icon") {
            return iconProblem(value, layers: layers)
        }
        return "unknown property"
    }

    /// Valid UTF-8 (a Swift string is) with no C0/C1 control character, DEL or bidirectional
    /// override: it is printed by `inspect` and `--launcher info` as it is.
    static func isOneLineText(_ s: String) -> Bool { TerminalText.escaped(s).bytesEqual(s) }

    /// An SPDX license expression, checked for its shape (the list of identifiers changes; the
    /// grammar does not): identifiers of `A-Z a-z 0-9 . -` (with an optional trailing `+`),
    /// `LicenseRef-...`, the operators `AND`, `OR` and `WITH`, and balanced parentheses.
    static func licenseProblem(_ value: String) -> String? {
        let shape =
            "'\(TerminalText.shown(value))' is not an SPDX license expression (like MIT, Apache-2.0 OR MIT, GPL-2.0-only WITH Classpath-exception-2.0)"
        let bytes = Array(value.utf8)
        guard (1...256).contains(bytes.count) else { return shape }
        var tokens: [[UInt8]] = []
        var current: [UInt8] = []
        for b in bytes {
            if b == 0x20 || b == 0x28 || b == 0x29 {
                if !current.isEmpty { tokens.append(current); current = [] }
                if b != 0x20 { tokens.append([b]) }
            } else {
                current.append(b)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        // Alternates: an operand (identifier or parenthesised expression), then an operator.
        var depth = 0
        var wantOperand = true
        for t in tokens {
            let isOperator = t == Array("AND".utf8) || t == Array("OR".utf8) || t == Array("WITH".utf8)
            if t == [0x28] {
                guard wantOperand else { return shape }
                depth += 1
            } else if t == [0x29] {
                guard !wantOperand, depth > 0 else { return shape }
                depth -= 1
            } else if isOperator {
                guard !wantOperand else { return shape }
                wantOperand = true
            } else {
                guard wantOperand else { return shape }
                var id = t
                if id.last == 0x2B { id.removeLast() }  // `GPL-2.0+`
                guard let first = id.first, first != 0x2D, first != 0x2E,
                    id.allSatisfy({
                        ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D
                            || $0 == 0x2E || $0 == 0x3A
                    })
                else { return shape }
                wantOperand = false
            }
        }
        return wantOperand || depth != 0 ? shape : nil
    }

    /// `{layer}/path`: the layer is one of the bundle's, and the path is relative, without empty,
    /// `.` or `..` components (the builder checks that the layer holds the file).
    static func iconProblem(_ value: String, layers: [String]) -> String? {
        let shape = "'\(TerminalText.shown(value))' must be {layer}/path, a file one of the layers holds"
        guard value.utf8.count <= 1024, let pieces = try? Placeholders.parse(value), pieces.count == 2,
            case .placeholder(let layer) = pieces[0], case .literal(let rest) = pieces[1], rest.first == 0x2F,
            rest.count > 1
        else { return shape }
        guard layers.containsBytes(layer) else {
            return "'\(TerminalText.shown(value))' names no layer of the bundle ({\(TerminalText.shown(layer))})"
        }
        for part in rest.dropFirst().split(separator: 0x2F, omittingEmptySubsequences: false) {
            guard !part.isEmpty, Array(part) != [0x2E], Array(part) != [0x2E, 0x2E], !part.contains(0) else {
                return shape
            }
        }
        return nil
    }
}
