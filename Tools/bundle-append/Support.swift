import Foundation
import BundleBuilder
import BundleCrypto
import BundleFormat
import BundleRuntime

/// What `inspect` prints, as text or JSON.
struct InspectReport {
    struct Layer: Encodable {
        /// `digest`: the file table's; `cacheName`: the layer's directory in a cache (docs/format.md).
        var name: String, digest: String, framesDigest: String, cacheName: String, codec: String, filter: String,
            compressedSize: UInt64, size: UInt64, files: Int, frames: Int, largestFrame: UInt64
        var fileList: [File]?
    }
    struct File: Encodable {
        var path: String, type: String, mode: String, size: UInt64, digest: String?, target: String?
    }
    struct Entry: Encodable {
        var name: String, isDefault: Bool, argv: [String], env: [String: String], layers: [String]
    }
    /// The `[bundle]` metadata the manifest holds (absent keys are left out of the JSON).
    struct Metadata: Encodable {
        var description: String?, homepage: String?, license: String?, vendor: String?, icon: String?
    }
    /// The launcher's own names: `<envPrefix>_CACHE_DIR`, `~/.cache/<cacheName>`.
    struct LauncherNames: Encodable {
        var envPrefix: String, cacheName: String
    }
    struct Report: Encodable {
        var app: String, version: String, formatVersion: UInt32, target: String, bundleDigest: String, signed: Bool,
            keyId: String?
        var metadata: Metadata, launcherNames: LauncherNames
        var launcherKey: String, buildTime: UInt64, stubSize: UInt64, fileSize: UInt64
        /// The Authenticode certificate table's size in a signed PE file (after the bundle); absent when none.
        var certificateTableSize: UInt64?
        var layers: [Layer], entries: [Entry]
    }
    let report: Report

    init(_ bundle: BundleFile, slot: KeySlot?, withFiles: Bool) throws {
        let m = bundle.manifest
        var layers: [Layer] = []
        for l in m.layers {
            var list: [File]? = nil
            if withFiles {
                let table = try wrap { () throws(BundleError) in try bundle.fileTable(of: l) }
                let records = try withBytes(table) { (b) throws(BundleError) in
                    try FileTable.decode(b, layer: l, target: m.target)
                }
                list = records.map(InspectReport.file)
            }
            layers.append(
                Layer(
                    name: l.name, digest: Hex.encode(l.digest), framesDigest: Hex.encode(l.framesDigest),
                    cacheName: l.cacheName, codec: l.codec.name, filter: l.filter.name,
                    compressedSize: l.compressedSize,
                    size: l.uncompressedSize, files: l.fileCount, frames: l.frames.count,
                    largestFrame: l.frames.map(\.decodedSize).max() ?? 0, fileList: list))
        }
        let slotText: String
        switch slot {
        case .pinned(let k)?: slotText = (try? PublicKey(slotBytes: k).keyID.displayString) ?? "damaged"
        case .unsigned?: slotText = "none (unsigned build)"
        case .empty?: slotText = "empty (runs nothing)"
        case nil: slotText = "not found"
        }
        report = Report(
            app: m.appName, version: m.appVersion, formatVersion: bundle.trailer.version, target: m.target.name,
            bundleDigest: Hex.encode(bundle.digest), signed: bundle.isSigned,
            keyId: bundle.isSigned ? KeyID(bytes: m.keyID)?.displayString : nil,
            metadata: Metadata(
                description: m.properties.description, homepage: m.properties.homepage, license: m.properties.license,
                vendor: m.properties.vendor, icon: m.properties.icon),
            launcherNames: LauncherNames(envPrefix: m.environmentPrefix, cacheName: m.cacheName),
            launcherKey: slotText,
            buildTime: m.buildTime, stubSize: bundle.trailer.stubLength, fileSize: bundle.fileSize,
            certificateTableSize: bundle.location.certificateTable.map { $0.upperBound - $0.lowerBound },
            layers: layers,
            entries: m.entries.map { e in
                Entry(
                    name: e.name, isDefault: e.isDefault, argv: e.argv,
                    env: Dictionary(e.env.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
                    layers: e.layers.map { m.layers[$0].name })
            })
    }

    static func file(_ r: FileRecord) -> File {
        let types = ["dir", "file", "symlink"]
        let digest: String? = r.kind == .regular ? Hex.encode(r.digest) : nil
        let target: String? = r.kind == .symlink ? String(decoding: r.linkTarget, as: UTF8.self) : nil
        return File(
            path: r.pathString, type: types[Int(r.kind.rawValue)], mode: String(r.mode, radix: 8),
            size: r.size, digest: digest, target: target)
    }

    func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(report)) ?? Data(), as: UTF8.self)
    }

    func text() -> String {
        let r = report
        let buildTime = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(r.buildTime)))
        var out = "app:            \(r.app) \(r.version)\n"
        // Checked by every reader (`BundleProperties.problem`) and escaped all the same: one line each.
        for (label, value) in [
            ("description", r.metadata.description), ("homepage", r.metadata.homepage),
            ("license", r.metadata.license), ("vendor", r.metadata.vendor), ("icon", r.metadata.icon),
        ] {
            if let value {
                out +=
                    "\((label + ":").padding(toLength: 16, withPad: " ", startingAt: 0))\(TerminalText.escaped(value))\n"
            }
        }
        let prefix = r.launcherNames.envPrefix
        out += """
            env prefix:     \(prefix) (\(prefix)_CACHE_DIR, \(prefix)_ENTRY)
            cache name:     \(r.launcherNames.cacheName)
            format version: \(r.formatVersion)
            target:         \(r.target)
            bundle digest:  \(r.bundleDigest)
            signed:         \(r.signed ? "yes, key \(r.keyId ?? "?")" : "NO (unsigned)")
            launcher key:   \(r.launcherKey)
            build time:     \(buildTime)
            size:           \(formatBytes(r.fileSize)) (stub \(formatBytes(r.stubSize)))

            """
        if let table = r.certificateTableSize {
            out +=
                "authenticode:   certificate table of \(formatBytes(table)) after the bundle (not covered by its signature)\n"
        }
        out += "\nlayers:\n\n"
        for l in r.layers {
            out +=
                "  \(l.name)  \(l.filter == "none" ? l.codec : l.codec + "+" + l.filter)  \(formatBytes(l.compressedSize)) -> \(formatBytes(l.size))  \(l.files) files  \(l.frames) frame\(l.frames == 1 ? "" : "s")  cache name \(l.cacheName)\n"
            for f in l.fileList ?? [] {
                out +=
                    "    \(f.type.padding(toLength: 7, withPad: " ", startingAt: 0)) \(f.mode.padding(toLength: 4, withPad: " ", startingAt: 0)) \(String(f.size).padding(toLength: 10, withPad: " ", startingAt: 0)) \(f.path)\(f.target.map { " -> \($0)" } ?? "")\n"
            }
        }
        out += "\nentries:\n"
        for e in r.entries {
            out +=
                "  \(e.name)\(e.isDefault ? " (default)" : "")  layers: \(e.layers.joined(separator: ","))  exec: \(e.argv.joined(separator: " "))\n"
            for (k, v) in e.env.sorted(by: { $0.key < $1.key }) { out += "    env \(k)=\(v)\n" }
        }
        return out
    }
}
