import Foundation
import TOMLKit
import BundleFormat

/// A bad spec: one line, `<file>: <key path>: <what is wrong>`.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct LayerSpec: Equatable, Sendable {
    public var name: String
    /// Absolute, standardized path of the directory to bundle.
    public var directory: String
    public var codec: Codec
    /// `codec.defaultLevel` when the spec names none; 0 for `none`.
    public var level: Int
    /// Applied before compression (`filter = "x86"` for machine code); `.none` by default.
    public var filter: LayerFilter = .none
    /// Decoded bytes per frame (`frame-size`; docs/format.md, "Frame table"): each frame is
    /// compressed on its own, so the launcher decodes frames on all cores; larger frames compress
    /// better. `LayerSpec.defaultFrameSize` unless the spec says otherwise.
    public var frameSize: Int = LayerSpec.defaultFrameSize

    /// 8 MiB, chosen by measurement (docs/benchmarks.md, "Frame size").
    public static let defaultFrameSize = 8 << 20
    /// The smallest frame size a spec or a compression record may ask for: below it the frame
    /// table and the per-frame headers cost more than parallel decoding gains.
    public static let minimumFrameSize = 64 << 10

    /// A spec's `frame-size`: a number of bytes, or a string with a `KiB` or `MiB` suffix
    /// ("4MiB"), from 64 KiB to `Limits.maxFrameSize`.
    static func frameSize(_ text: String?, _ key: String, fail: (String, String) -> SpecError) throws(SpecError)
        -> Int
    {
        let minimum = minimumFrameSize
        let expected = "expected a size from 64KiB to \(Limits.maxFrameSize >> 20)MiB (\"8MiB\", \"512KiB\" or bytes)"
        guard let text else { throw fail(key, expected) }
        var digits = Substring(text)
        var unit = 1
        if text.hasSuffix("MiB") {
            unit = 1 << 20; digits = digits.dropLast(3)
        } else if text.hasSuffix("KiB") {
            unit = 1 << 10; digits = digits.dropLast(3)
        }
        guard let n = Int(digits.trimmingCharacters(in: .whitespaces)), n > 0, n <= Int(Limits.maxFrameSize) / unit,
            n * unit >= minimum
        else { throw fail(key, "'\(TerminalText.shown(text))': \(expected)") }
        return n * unit
    }
}

public struct EntrySpec: Equatable, Sendable {
    public struct EnvVar: Equatable, Sendable {
        public var key: String
        public var value: String
    }
    public var name: String
    public var exec: [String]
    /// Sorted by key.
    public var env: [EnvVar]
    /// Every layer the entry uses (placeholders in exec and env, plus `layers`), sorted, unique.
    public var layers: [String]
    public var isDefault: Bool
}

/// The packager's description of a bundle (docs/spec.md).
public struct BundleSpec: Equatable, Sendable {
    /// The spec file's name (`hello.toml`), set by `parse`: errors found after parsing (a program
    /// missing from its layer, a name another target refuses) start with it, as the parser's do.
    public var fileName = ""
    public var name: String
    public var version: String
    /// Sorted by name.
    public var layers: [LayerSpec]
    /// Sorted by name.
    public var entries: [EntrySpec]
    /// What the manifest stores beyond name and version: the launcher's names as the spec sets
    /// them or defaults them (`<APP>_LAUNCHER`, `<app>-launcher`), left out where they equal the
    /// names a bundle without properties has (the app name's: DGMO's `DGMO_CACHE_DIR`), and the
    /// metadata the spec gives.
    public var properties: BundleProperties = BundleProperties()

    /// The prefix of the launcher's variables in the bundle this spec makes.
    public var environmentPrefix: String { properties.environmentPrefix ?? Names.environmentPrefix(name) }
    /// The name of the bundle's cache directory.
    public var cacheName: String { properties.cacheName ?? name }

    public static func load(path: String) throws(SpecError) -> BundleSpec {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path) } catch { throw SpecError("\(path): cannot read spec: \(error.message)") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SpecError("\(path): cannot read spec: not UTF-8 text")
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return try parse(
            toml: text, baseDirectory: url.deletingLastPathComponent().path,
            fileName: (path as NSString).lastPathComponent)
    }

    public static func parse(toml: String, baseDirectory: String, fileName: String) throws(SpecError) -> BundleSpec {
        var p = SpecParser(file: fileName, base: baseDirectory)
        var spec = try p.parse(toml)
        spec.fileName = fileName
        return spec
    }

    /// Every layer compressed with `codec` (at `level`, else the codec's default).
    public func withCompression(_ codec: Codec, level: Int?) -> BundleSpec {
        var copy = self
        copy.layers = layers.map { l in
            var l = l
            l.codec = codec
            l.level = codec == .none ? 0 : (level ?? codec.defaultLevel)
            return l
        }
        return copy
    }
}

/// Walks the TOML tree, checking every key and type, and names the key in every error.
private struct SpecParser {
    let file: String
    let base: String

    func fail(_ key: String, _ what: String) -> SpecError { SpecError("\(file): \(key): \(what)") }

    func typeName(_ v: TOMLValueConvertible) -> String {
        switch v.type {
        case .table: return "a table"
        case .array: return "an array"
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        default: return "a date/time"
        }
    }

    func table(_ v: TOMLValueConvertible?, _ key: String) throws(SpecError) -> TOMLTable {
        guard let v else { throw fail(key, "missing table") }
        guard let t = v.table else { throw fail(key, "expected a table, found \(typeName(v))") }
        return t
    }

    func string(_ v: TOMLValueConvertible?, _ key: String, required: Bool = true) throws(SpecError) -> String? {
        guard let v else { if required { throw fail(key, "missing (a string is required)") }; return nil }
        guard let s = v.string else { throw fail(key, "expected a string, found \(typeName(v))") }
        return s
    }

    func strings(_ v: TOMLValueConvertible?, _ key: String) throws(SpecError) -> [String]? {
        guard let v else { return nil }
        guard let a = v.array else { throw fail(key, "expected an array of strings, found \(typeName(v))") }
        var out: [String] = []
        for (i, item) in a.enumerated() {
            guard let s = item.string else { throw fail("\(key)[\(i)]", "expected a string, found \(typeName(item))") }
            out.append(s)
        }
        return out
    }

    func checkKeys(_ t: TOMLTable, _ prefix: String, allowed: [String]) throws(SpecError) {
        for k in t.keys.sorted() where !allowed.contains(k) {
            throw fail(
                prefix.isEmpty ? k : "\(prefix).\(k)", "unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    mutating func parse(_ text: String) throws(SpecError) -> BundleSpec {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw SpecError("\(file): line \(e.source.begin.line): \(e.description)")
        } catch { throw SpecError("\(file): \(error)") }
        try checkKeys(root, "", allowed: ["bundle", "layers", "entries"])

        let bundle = try table(root["bundle"], "bundle")
        try checkKeys(bundle, "bundle", allowed: ["name", "version"] + BundleProperties.keys)
        let name = try string(bundle["name"], "bundle.name")!
        guard Names.isValid(name) else {
            throw fail(
                "bundle.name",
                "'\(name)' must be 1-\(Names.maximumLength) characters of A-Z a-z 0-9 . _ -, starting with a letter or digit"
            )
        }
        let version = try string(bundle["version"], "bundle.version")!
        guard Names.isValidVersion(version) else {
            throw fail(
                "bundle.version",
                "'\(TerminalText.shown(version))' must be 1-\(Names.maximumLength) printable ASCII characters without spaces"
            )
        }

        let layersTable = try table(root["layers"], "layers")
        var properties = BundleProperties(
            environmentPrefix: BundleProperties.defaultEnvironmentPrefix(appName: name),
            cacheName: BundleProperties.defaultCacheName(appName: name))
        for key in BundleProperties.keys {
            guard let value = try string(bundle[key], "bundle.\(key)", required: false) else { continue }
            if let problem = BundleProperties.problem(
                key: key, value: value, appName: name, layers: layersTable.keys.sorted())
            {
                throw fail("bundle.\(key)", problem)
            }
            _ = properties.set(key, value)
        }
        // The names a bundle without properties has are written by leaving them out (docs/format.md).
        if properties.environmentPrefix == Names.environmentPrefix(name) { properties.environmentPrefix = nil }
        if properties.cacheName == name { properties.cacheName = nil }
        let environmentPrefix = properties.environmentPrefix ?? Names.environmentPrefix(name)
        var layers: [LayerSpec] = []
        for layerName in layersTable.keys.sorted() {
            let key = "layers.\(layerName)"
            guard Names.isValid(layerName) else { throw fail(key, "invalid layer name (use A-Z a-z 0-9 . _ -)") }
            let t = try table(layersTable[layerName], key)
            try checkKeys(t, key, allowed: ["path", "compression", "level", "filter", "frame-size"])
            let path = try string(t["path"], "\(key).path")!
            let absolute = path.hasPrefix("/") ? path : base + "/" + path
            let dir = URL(fileURLWithPath: absolute).standardizedFileURL.path
            var st = stat()
            guard stat(dir, &st) == 0 else {
                let e = errno
                throw fail(
                    "\(key).path",
                    e == ELOOP
                        ? "\(dir) is a symlink loop (\(String(cString: strerror(e))))"
                        : e == ENOENT
                            ? "directory not found: \(dir)"
                            : "\(dir): \(String(cString: strerror(e)))")
            }
            guard st.st_mode & S_IFMT == S_IFDIR else { throw fail("\(key).path", "not a directory: \(dir)") }
            let codecName = try string(t["compression"], "\(key).compression", required: false) ?? "zstd"
            guard let codec = Codec(name: codecName) else {
                throw fail("\(key).compression", "'\(codecName)' is not one of zstd, xz, zlib, none")
            }
            var level = codec == .none ? 0 : codec.defaultLevel
            if let lv = t["level"] {
                guard let n = lv.int else { throw fail("\(key).level", "expected an integer, found \(typeName(lv))") }
                guard let range = codec.levelRange else {
                    throw fail("\(key).level", "compression 'none' takes no level")
                }
                guard range.contains(n) else {
                    throw fail(
                        "\(key).level", "\(n) is outside \(range.lowerBound)...\(range.upperBound) for \(codec.name)")
                }
                level = n
            }
            let filterName = try string(t["filter"], "\(key).filter", required: false) ?? "none"
            guard let filter = LayerFilter(name: filterName) else {
                throw fail("\(key).filter", "'\(filterName)' is not one of none, x86, arm64")
            }
            var frameSize = LayerSpec.defaultFrameSize
            if let fs = t["frame-size"] {
                frameSize = try LayerSpec.frameSize(
                    fs.string ?? fs.int.map(String.init), "\(key).frame-size", fail: fail)
            }
            layers.append(
                LayerSpec(
                    name: layerName, directory: dir, codec: codec, level: level, filter: filter, frameSize: frameSize))
        }
        guard !layers.isEmpty else { throw fail("layers", "at least one layer is required") }
        let layerNames = layers.map(\.name)

        let entriesTable = try table(root["entries"], "entries")
        var entries: [EntrySpec] = []
        for entryName in entriesTable.keys.sorted() {
            let key = "entries.\(entryName)"
            guard Names.isValid(entryName) else { throw fail(key, "invalid entry name (use A-Z a-z 0-9 . _ -)") }
            let t = try table(entriesTable[entryName], key)
            try checkKeys(t, key, allowed: ["exec", "env", "default", "layers"])
            guard let exec = try strings(t["exec"], "\(key).exec") else {
                throw fail("\(key).exec", "missing (an array of strings is required)")
            }
            guard !exec.isEmpty, !exec[0].isEmpty else { throw fail("\(key).exec", "must name a program") }
            var used: [String] = []
            func placeholders(_ template: String, _ k: String) throws(SpecError) {
                let names: [String]
                do { names = try Placeholders.names(in: template) } catch {
                    throw fail(
                        k, "malformed placeholder in '\(template)' (write {layer}; {{ and }} for literal braces)")
                }
                for n in names {
                    guard layerNames.contains(n) else {
                        throw fail(k, "unknown placeholder {\(n)} (layers: \(layerNames.joined(separator: ", ")))")
                    }
                    if !used.contains(n) { used.append(n) }
                }
            }
            for (i, a) in exec.enumerated() { try placeholders(a, "\(key).exec[\(i)]") }
            var env: [EntrySpec.EnvVar] = []
            if let e = t["env"] {
                guard let et = e.table else {
                    throw fail("\(key).env", "expected a table of strings, found \(typeName(e))")
                }
                for k in et.keys.sorted() {
                    guard Manifest.isValidEnvName(k) else {
                        throw fail("\(key).env.\(k)", "invalid environment variable name")
                    }
                    let v = try string(et[k], "\(key).env.\(k)")!
                    try placeholders(v, "\(key).env.\(k)")
                    env.append(.init(key: k, value: v))
                }
            }
            for (i, l) in (try strings(t["layers"], "\(key).layers") ?? []).enumerated() {
                guard layerNames.contains(l) else {
                    throw fail(
                        "\(key).layers[\(i)]", "no layer named '\(l)' (layers: \(layerNames.joined(separator: ", ")))")
                }
                if !used.contains(l) { used.append(l) }
            }
            // The launcher's entry rules, checked here so the message names the spec's key.
            do {
                try EntryRules.check(
                    EntryRecord(
                        name: entryName, isDefault: false, argv: exec,
                        env: env.map { .init(key: $0.key, value: $0.value) }, layers: []),
                    environmentPrefix: environmentPrefix,
                    fieldName: { field in
                        switch field {
                        case .argv(let i): return "\(key).exec[\(i)]"
                        case .env(let k): return "\(key).env.\(k)"
                        }
                    })
            } catch {
                throw SpecError("\(file): \(error.message)")
            }
            var isDefault = false
            if let d = t["default"] {
                guard let b = d.bool else { throw fail("\(key).default", "expected a boolean, found \(typeName(d))") }
                isDefault = b
            }
            if isDefault, let other = entries.first(where: { $0.isDefault }) {
                throw fail("\(key).default", "two default entries (\(other.name), \(entryName))")
            }
            entries.append(
                EntrySpec(name: entryName, exec: exec, env: env, layers: used.sorted(), isDefault: isDefault))
        }
        guard !entries.isEmpty else { throw fail("entries", "at least one entry is required") }
        if entries.count == 1 { entries[0].isDefault = true }
        return BundleSpec(name: name, version: version, layers: layers, entries: entries, properties: properties)
    }
}
