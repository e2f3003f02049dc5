#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCrypto
import BundleRuntime

/// `<app> --launcher ...`: what the binary is and what the cache holds, from the binary itself.
enum Ops {
    static func run(_ args: [String], bundle: BundleFile, cache: CacheRoot, trust: Trust) -> Int32 {
        switch args.first {
        case nil, "help", "--help", "-h":
            writeOut(1, help(bundle.manifest, cache: cache))
            return 0
        case "info":
            writeOut(1, info(bundle, cache: cache, json: args.dropFirst().contains("--json")))
            return 0
        case "cache" where args.count == 2 && args[1] == "path":
            writeOut(1, cache.path + "\n")
            return 0
        case let other?:
            fail("unknown launcher command '\(other)'; run '\(programName) --launcher help'")
        }
    }

    static func help(_ m: Manifest, cache: CacheRoot) -> String {
        let prefix = Names.environmentPrefix(m.appName)
        return """
        \(programName) --launcher COMMAND: launcher commands of the \(m.appName) \(m.appVersion) bundle

        Commands:
          info [--json]   what this binary holds: version, digest, key, layers, entries, cache state
          cache path      print the cache directory
          help            this text

        Every other invocation runs the bundled program; its arguments are passed on unchanged.

        Environment:
          \(prefix)_CACHE_DIR   cache directory (default: $XDG_CACHE_HOME/\(m.appName) or ~/.cache/\(m.appName))
          \(prefix)_ENTRY       run this entry instead of the one named like the program or the default

        The launcher's own failures exit with status \(launcherFailureStatus) and one line on stderr.

        """
    }

    static func info(_ bundle: BundleFile, cache: CacheRoot, json: Bool) -> String {
        let m = bundle.manifest
        let keyText = bundle.isSigned ? (KeyID(bytes: m.keyID)?.displayString ?? "?") : "none (UNSIGNED bundle: contents are checked against digests but nobody vouches for them)"
        if json { return infoJSON(bundle, cache: cache) }
        var out = ""
        out += "app:            \(m.appName)\n"
        out += "version:        \(m.appVersion)\n"
        out += "format version: \(bundle.trailer.version)\n"
        out += "bundle digest:  \(Hex.encode(bundle.digest))\n"
        out += "signed:         \(bundle.isSigned ? "yes" : "no")\n"
        out += "key id:         \(keyText)\n"
        out += "build time:     \(formatTime(m.buildTime))\n"
        out += "cache:          \(cache.path)  (from \(cache.source == .variable ? cache.variableName : cache.source.rawValue))\n"
        out += "\nlayers:\n"
        var rows = [["NAME", "CODEC", "COMPRESSED", "SIZE", "FILES", "EXTRACTED", "DIGEST"]]
        for l in m.layers {
            rows.append([l.name, l.codec.name, formatSize(l.compressedSize), formatSize(l.uncompressedSize), String(l.fileCount),
                         cache.isExtracted(l) ? "yes" : "no", String(Hex.encode(l.digest).prefix(16))])
        }
        out += table(rows)
        out += "\nentries:\n"
        var erows = [["NAME", "DEFAULT", "LAYERS", "COMMAND"]]
        for e in m.entries {
            erows.append([e.name, e.isDefault ? "yes" : "", e.layers.map { m.layers[$0].name }.joined(separator: ","), e.argv.joined(separator: " ")])
        }
        out += table(erows)
        return out
    }

    static func infoJSON(_ bundle: BundleFile, cache: CacheRoot) -> String {
        let m = bundle.manifest
        var o = "{"
        o += "\"app\":\(jsonString(m.appName)),\"version\":\(jsonString(m.appVersion)),"
        o += "\"formatVersion\":\(bundle.trailer.version),\"bundleDigest\":\"\(Hex.encode(bundle.digest))\","
        o += "\"signed\":\(bundle.isSigned),\"keyId\":\(bundle.isSigned ? jsonString(KeyID(bytes: m.keyID)?.displayString ?? "") : "null"),"
        o += "\"buildTime\":\(m.buildTime),\"cache\":{\"path\":\(jsonString(cache.path)),\"source\":\(jsonString(cache.source == .variable ? cache.variableName : cache.source.rawValue))},"
        o += "\"layers\":["
        o += m.layers.map { l in
            "{\"name\":\(jsonString(l.name)),\"digest\":\"\(Hex.encode(l.digest))\",\"codec\":\"\(l.codec.name)\",\"compressedSize\":\(l.compressedSize),\"size\":\(l.uncompressedSize),\"files\":\(l.fileCount),\"extracted\":\(cache.isExtracted(l))}"
        }.joined(separator: ",")
        o += "],\"entries\":["
        o += m.entries.map { e in
            "{\"name\":\(jsonString(e.name)),\"default\":\(e.isDefault),\"layers\":[\(e.layers.map { jsonString(m.layers[$0].name) }.joined(separator: ","))],\"argv\":[\(e.argv.map(jsonString).joined(separator: ","))]}"
        }.joined(separator: ",")
        o += "]}\n"
        return o
    }
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
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else { out.unicodeScalars.append(u) }
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

func formatTime(_ t: UInt64) -> String {
    var time = time_t(t)
    var tmv = tm()
    gmtime_r(&time, &tmv)
    var buf = [CChar](repeating: 0, count: 32)
    _ = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%SZ", &tmv)
    return String(cString: buf)
}

func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    var out = ""
    for r in rows {
        var line = "  "
        for (i, c) in r.enumerated() {
            line += c
            if i < r.count - 1 { line += String(repeating: " ", count: widths[i] - c.count + 2) }
        }
        out += line + "\n"
    }
    return out
}
