import BundleFormat
import BundleSystem
import BundleCrypto
import BundleRuntime
import BundleCache

/// `<app> --launcher ...`: what the binary is and what the cache holds, from the binary itself.
public enum Ops {
    public static func run(_ args: [String], bundle: BundleFile, location: CacheLocation, trust: Trust) -> Int32 {
        // Commands are matched as bytes (ByteText.swift), as every launcher name is.
        let command = args.first ?? "help"
        let rest = Array(args.dropFirst())
        if ["help", "--help", "-h"].containsBytes(command) {
            writeOut(.output, help(bundle.manifest))
            return 0
        } else if command.bytesEqual("info") {
            writeOut(.output, info(bundle, location: location, json: rest.containsBytes("--json")))
            return 0
        } else if command.bytesEqual("cache") {
            return cacheCommand(rest, bundle: bundle, location: location)
        } else if command.bytesEqual("sbom") {
            return Sbom.run(rest, bundle: bundle)
        } else if command.bytesEqual("verify-file") {
            return VerifyFile.run(rest, running: bundle, trust: trust)
        } else if command.bytesEqual("extract") {
            guard args.count == 2 else { fail("usage: \(programName) --launcher extract DIR") }
            return CacheOps.extract(bundle, to: args[1])
        }
        fail("unknown launcher command '\(command)'; run '\(programName) --launcher help'")
    }

    static func cacheCommand(_ args: [String], bundle: BundleFile, location: CacheLocation) -> Int32 {
        let json = args.containsBytes("--json")
        func value(_ flag: String) -> String? {
            guard let i = args.firstIndex(where: { $0.bytesEqual(flag) }) else { return nil }
            guard i + 1 < args.count else { fail("\(flag) needs a value") }
            return args[i + 1]
        }
        func allow(_ flags: [String], values: [String] = []) {
            var i = 1
            while i < args.count {
                if values.containsBytes(args[i]) { i += 2; continue }
                guard flags.containsBytes(args[i]) else {
                    fail("unknown option '\(args[i])' for 'cache \(args[0])'; run '\(programName) --launcher help'")
                }
                i += 1
            }
        }
        // `cache --help`, `cache list --help`: the lines of `--launcher help` about the cache (CacheHelp.swift).
        if let text = CacheHelp.text(for: args) {
            writeOut(.output, text)
            return 0
        }
        /// The cache root, checked by descriptor (a refusal is one line); nil when there is none yet.
        func root() -> CacheRoot? {
            do { return try location.open(create: false) } catch { fail(error.message) }
        }
        let command = args.first ?? ""
        if command.bytesEqual("path") {
            allow([])
            writeOut(.output, location.rootPath() + "\n")
            return 0
        } else if command.bytesEqual("list") {
            allow(["--json"])
            return CacheOps.list(root(), path: location.rootPath(), json: json)
        } else if command.bytesEqual("verify") {
            allow(["--json", "--repair"])
            return CacheOps.verify(
                bundle, root: root(), location: location, repair: args.containsBytes("--repair"), json: json)
        } else if command.bytesEqual("gc") {
            allow(["--json", "--dry-run"], values: ["--older-than", "--keep"])
            let cache = root()
            let olderText = value("--older-than") ?? "30d"
            guard let older = Durations.parse(olderText) else {
                fail("--older-than: '\(olderText)' is not a duration like 30d, 12h, 45m, 90s or 2w")
            }
            let keepText = value("--keep") ?? "1"
            guard let keep = Int(keepText), keep >= 0 else { fail("--keep: '\(keepText)' is not a number") }
            return CacheOps.gc(
                cache, olderThan: older, keep: keep, dryRun: args.containsBytes("--dry-run"), json: json)
        } else if command.bytesEqual("clear") {
            allow(["--json", "--all"])
            return CacheOps.clear(bundle, root: root(), all: args.containsBytes("--all"), json: json)
        }
        fail("usage: \(programName) --launcher cache path|list|verify|gc|clear; run '\(programName) --launcher help'")
    }

    static func help(_ m: Manifest) -> String {
        let prefix = m.environmentPrefix
        return """
            \(programName) --launcher COMMAND: launcher commands of the \(m.appName) \(m.appVersion) bundle

            Commands:
              info [--json]                 what this binary holds: version, digest, key, layers, entries, cache state
              cache path                    print the cache directory
              cache list [--json]           every bundle and layer in the cache: size, last use, users, in use
              cache verify [--repair] [--json]
                                            re-hash this bundle's extracted files against the signed manifest;
                                            --repair re-extracts damaged layers; exit 1 while damage remains
              cache gc [--older-than 30d] [--keep 1] [--dry-run] [--json]
                                            remove layers that no bundle used within the period needs (keeping
                                            the N most recently used bundles of each app); never a layer in use
              cache clear [--all] [--json]  remove this bundle's layers (--all: every layer); never one in use
              sbom                          print the software bill of materials (CycloneDX JSON) the bundle carries
              verify-file FILE [--signature SIG]
                                            check that FILE is a bundle of this app whose every byte is signed
                                            (SIG, default FILE.minisig) by the key this launcher trusts; prints
                                            its name and version as JSON (used by self-update)
              extract DIR                   write every layer of this bundle into DIR/<layer>/ (checked)
              help                          this text

            Every other invocation runs the bundled program; its arguments are passed on unchanged.

            Environment:
              \(prefix)_CACHE_DIR   cache directory (default: $XDG_CACHE_HOME/\(m.cacheName) or ~/.cache/\(m.cacheName))
              \(prefix)_ENTRY       run this entry instead of the one named like the program or the default
              \(prefix)_CACHE_GC    off or 0: no automatic gc; 7d: remove layers unused 7 days (default 30d, daily)

            The launcher's own failures exit with status \(launcherFailureStatus) and one line on stderr.

            """
    }

    /// Text mode escapes every value from the manifest or the environment (`TerminalText`), so an
    /// argv item with a newline or ESC stays on its row and cannot drive the terminal.
    static func info(_ bundle: BundleFile, location: CacheLocation, json: Bool) -> String {
        let m = bundle.manifest
        // What is extracted, as the launcher would judge it; an unusable cache shows nothing extracted.
        let root = try? location.open(create: false)
        let cachePath = root?.path ?? location.rootPath()
        func isExtracted(_ l: LayerRecord) -> Bool {
            guard let root, let state = try? root.layer(l.cacheName), case .complete = consume state else {
                return false
            }
            return true
        }
        let keyText =
            bundle.isSigned
            ? (KeyID(bytes: m.keyID)?.displayString ?? "?")
            : "none (UNSIGNED bundle: contents are checked against digests but nobody vouches for them)"
        if json { return infoJSON(bundle, location: location, cachePath: cachePath, isExtracted: isExtracted) }
        var out = ""
        out += "app:            \(m.appName)\n"
        out += "version:        \(TerminalText.escaped(m.appVersion))\n"
        for (label, value) in metadata(m) {
            var padded = label + ":"
            while padded.utf8.count < 16 { padded += " " }
            out += padded + TerminalText.escaped(value) + "\n"
        }
        let prefix = m.environmentPrefix
        out += "env prefix:     \(prefix) (\(prefix)_CACHE_DIR, \(prefix)_ENTRY)\n"
        out += "cache name:     \(TerminalText.escaped(m.cacheName))\n"
        out += "format version: \(bundle.trailer.version)\n"
        out += "target:         \(m.target.name)\n"
        out += "bundle digest:  \(Hex.encode(bundle.digest))\n"
        out += "signed:         \(bundle.isSigned ? "yes" : "no")\n"
        out += "key id:         \(keyText)\n"
        out += "build time:     \(formatTime(m.buildTime))\n"
        out +=
            "cache:          \(TerminalText.escaped(cachePath))  (from \(location.source == .variable ? location.variableName : location.source.rawValue))\n"
        out += "\nlayers:\n"
        var rows = [["NAME", "CODEC", "COMPRESSED", "SIZE", "FILES", "EXTRACTED", "CACHE NAME"]]
        for l in m.layers {
            rows.append([
                l.name, l.encodingName, formatSize(l.compressedSize), formatSize(l.uncompressedSize),
                String(l.fileCount),
                isExtracted(l) ? "yes" : "no", l.cacheName.prefixScalars(16),
            ])
        }
        out += table(rows)
        out += "\nentries:\n"
        var erows = [["NAME", "DEFAULT", "LAYERS", "COMMAND"]]
        for e in m.entries {
            erows.append([
                e.name, e.isDefault ? "yes" : "", e.layers.map { m.layers[$0].name }.joined(separator: ","),
                TerminalText.escaped(e.argv.joined(separator: " ")),
            ])
        }
        out += table(erows)
        return out
    }

    static func infoJSON(
        _ bundle: BundleFile, location: CacheLocation, cachePath: String, isExtracted: (LayerRecord) -> Bool
    ) -> String {
        let m = bundle.manifest
        var o = "{"
        o += "\"app\":\(jsonString(m.appName)),\"version\":\(jsonString(m.appVersion)),"
        o += "\"metadata\":{\(metadata(m).map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ","))},"
        o +=
            "\"launcherNames\":{\"envPrefix\":\(jsonString(m.environmentPrefix)),\"cacheName\":\(jsonString(m.cacheName))},"
        o +=
            "\"formatVersion\":\(bundle.trailer.version),\"target\":\"\(m.target.name)\",\"bundleDigest\":\"\(Hex.encode(bundle.digest))\","
        o +=
            "\"signed\":\(bundle.isSigned),\"keyId\":\(bundle.isSigned ? jsonString(KeyID(bytes: m.keyID)?.displayString ?? "") : "null"),"
        o +=
            "\"buildTime\":\(m.buildTime),\"cache\":{\"path\":\(jsonString(cachePath)),\"source\":\(jsonString(location.source == .variable ? location.variableName : location.source.rawValue))},"
        o += "\"layers\":["
        o += m.layers.map { l in
            "{\"name\":\(jsonString(l.name)),\"digest\":\"\(Hex.encode(l.digest))\",\"framesDigest\":\"\(Hex.encode(l.framesDigest))\",\"frames\":\(l.frames.count),\"cacheName\":\"\(l.cacheName)\",\"codec\":\"\(l.codec.name)\",\"filter\":\"\(l.filter.name)\",\"compressedSize\":\(l.compressedSize),\"size\":\(l.uncompressedSize),\"files\":\(l.fileCount),\"extracted\":\(isExtracted(l))}"
        }.joined(separator: ",")
        o += "],\"entries\":["
        o += m.entries.map { e in
            "{\"name\":\(jsonString(e.name)),\"default\":\(e.isDefault),\"layers\":[\(e.layers.map { jsonString(m.layers[$0].name) }.joined(separator: ","))],\"argv\":[\(e.argv.map(jsonString).joined(separator: ","))]}"
        }.joined(separator: ",")
        o += "]}\n"
        return o
    }
}

/// The `[bundle]` metadata the manifest holds, as (key, value) in the order `info` shows them.
func metadata(_ m: Manifest) -> [(String, String)] {
    let p = m.properties
    var out: [(String, String)] = []
    if let v = p.description { out.append(("description", v)) }
    if let v = p.homepage { out.append(("homepage", v)) }
    if let v = p.license { out.append(("license", v)) }
    if let v = p.vendor { out.append(("vendor", v)) }
    if let v = p.icon { out.append(("icon", v)) }
    return out
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            // C0 controls must be escaped in JSON; DEL, C1 controls and bidirectional overrides
            // may appear raw, but would reach a terminal that shows the output: escaped too.
            if u.value < 0x20 || (0x7F...0x9F).contains(u.value) || (0x202A...0x202E).contains(u.value)
                || (0x2066...0x2069).contains(u.value)
            {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.utf8.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

func formatSize(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n)
    var u = 0
    while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
    if u == 0 { return "\(n) B" }
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[u])"
}

/// A UTC timestamp for people. Never traps: times before 1970 print as such, and times beyond
/// what a date can show (a build time of 2^63 or more, a year past 9999) print as a number.
func formatTime(_ t: UInt64) -> String {
    t > UInt64(Int64.max) ? "(out of range: \(t))" : formatTime(Int64(t))
}

func formatTime(_ t: Int64) -> String {
    // 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59Z
    guard t >= -62_135_596_800, t <= 253_402_300_799 else { return "(out of range: \(t))" }
    // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil, inverted).
    let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
    let secs = t - days * 86_400
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.utf8.count)) + s
    }
    return
        "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))Z"
}

/// Rows as aligned columns. A cell's width is its count of Unicode scalars (as many columns as
/// characters for the ASCII the launcher's own text is; no grapheme tables in the launcher).
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.unicodeScalars.count) } }
    var out = ""
    for r in rows {
        var line = "  "
        for (i, c) in r.enumerated() {
            line += c
            if i < r.count - 1 { line += String(repeating: " ", count: widths[i] - c.unicodeScalars.count + 2) }
        }
        out += line + "\n"
    }
    return out
}
