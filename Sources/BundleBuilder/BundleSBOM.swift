import Foundation
import BundleFormat
import BundleCrypto

/// The CycloneDX 1.5 SBOM `bundle-append build` adds to a bundle whose layers carry none
/// (docs/spec.md, "SBOM"): the bundle itself with its metadata, each layer, and the Python and Node
/// packages the layers declare (`*.dist-info/METADATA`, `package.json`), with their licenses where
/// declared. It goes into a layer of its own, `bundle-metadata`, at `metadata/sbom.cdx.json`, where
/// `--launcher sbom` finds it (docs/format.md, "Conventions inside layers").
///
/// Made after the layers are compressed (it names their digests, which the file table gives) and
/// before the bundle is assembled; its own layer is not listed (its digest depends on the SBOM).
/// Deterministic: the timestamp is the build time and the serial number is derived from the rest.
public enum BundleSBOM {
    /// The generated layer's name: reserved while the SBOM is generated.
    public static let layerName = "bundle-metadata"
    /// Where the launcher looks in every layer (`Sbom.path` in the launcher).
    public static let path = "metadata/sbom.cdx.json"
    /// A package.json larger than this is skipped with a warning (a real one is a few KiB); of a
    /// METADATA only this much is read, which holds its headers whatever its body's length.
    static let largestMetadataFile: UInt64 = 4 << 20

    /// A package a layer declares.
    public struct Package: Equatable, Sendable {
        public enum Ecosystem: String, Sendable { case pypi, npm }
        public enum License: Equatable, Sendable {
            /// An SPDX expression the package declares as one (`License-Expression`, npm's `license`).
            case expression(String)
            /// License names: a `License:` line, trove classifiers, npm's legacy `licenses`.
            case names([String])
        }
        public var ecosystem: Ecosystem
        public var name: String
        public var version: String
        public var license: License?
        public var layer: String
        /// The metadata file it was read from, in the layer.
        public var path: String

        /// `pkg:pypi/<name>@<version>` (the name normalized as PyPI does: lower case, runs of
        /// `-_.` as one `-`), `pkg:npm/<name>@<version>` (a scope as `%40scope/`).
        public var purl: String {
            switch ecosystem {
            case .pypi:
                var normalized = ""
                var pendingDash = false
                for c in name.lowercased() {
                    if c == "-" || c == "_" || c == "." {
                        pendingDash = true
                    } else {
                        if pendingDash && !normalized.isEmpty { normalized.append("-") }
                        pendingDash = false
                        normalized.append(c)
                    }
                }
                return "pkg:pypi/\(BundleSBOM.percentEncoded(normalized))@\(BundleSBOM.percentEncoded(version))"
            case .npm:
                let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
                let path = parts.map(BundleSBOM.percentEncoded).joined(separator: "/")
                return "pkg:npm/\(path)@\(BundleSBOM.percentEncoded(version))"
            }
        }

        var licenses: [[String: Any]]? {
            switch license {
            case .expression(let e)?: return [["expression": e]]
            case .names(let names)?: return names.map { ["license": ["name": $0]] }
            case nil: return nil
            }
        }
    }

    /// The first layer holding `metadata/sbom.cdx.json`, as the launcher would find it.
    public static func carrier(_ layers: [BuiltLayer]) -> BuiltLayer? {
        let wanted = Array(path.utf8)
        return layers.first { $0.records.contains { $0.path == wanted && $0.kind != .directory } }
    }

    /// The packages `layer` declares, read from its directory (the files the layer was built from),
    /// in the table's order, one per purl.
    public static func packages(in layer: BuiltLayer, directory: String) -> [Package] {
        var out: [Package] = []
        var seen: Set<String> = []
        for r in layer.records where r.kind == .regular {
            let components = r.path.split(separator: 0x2F, omittingEmptySubsequences: false)
            guard let last = components.last else { continue }
            // `<name>-<version>.dist-info/METADATA`, at any depth (site-packages, _internal, ...).
            let isPython =
                Array(last) == Array("METADATA".utf8) && components.count >= 2
                && String(decoding: components[components.count - 2], as: UTF8.self).hasSuffix(".dist-info")
            let isNode = Array(last) == Array("package.json".utf8)
            guard isPython || isNode else { continue }
            // METADATA's headers come first and are small: its body (a long description, a bundled
            // changelog) is never needed, so only the start is read, whatever the file's size.
            let bytes: [UInt8]
            if isPython {
                guard let handle = FileHandle(forReadingAtPath: directory + "/" + r.pathString),
                    let head = try? handle.read(upToCount: Int(largestMetadataFile))
                else { continue }
                try? handle.close()
                bytes = Array(head)
            } else {
                guard r.size <= largestMetadataFile else {
                    FileHandle.standardError.write(
                        Data(
                            "bundle-append: warning: SBOM: \(layer.name)/\(r.pathString) is over \(largestMetadataFile >> 20) MiB, so its package is not listed\n"
                                .utf8))
                    continue
                }
                guard let all = try? FileBytes.read(directory + "/" + r.pathString) else { continue }
                bytes = all
            }
            let found =
                isPython
                ? python(metadata: String(decoding: bytes, as: UTF8.self), layer: layer.name, path: r.pathString)
                : npm(packageJSON: bytes, layer: layer.name, path: r.pathString)
            if let found, seen.insert(found.purl).inserted { out.append(found) }
        }
        return out
    }

    /// A `METADATA` file (core metadata: headers up to the first empty line): `Name` and `Version`,
    /// and the license from `License-Expression`, else a one-line `License`, else the
    /// `License :: ...` classifiers. nil without a name and a version.
    static func python(metadata: String, layer: String, path: String) -> Package? {
        var headers: [(key: String, value: String)] = []
        for raw in metadata.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t" {
                // A continuation line (a long License text): the value is no longer one line.
                if !headers.isEmpty { headers[headers.count - 1].value += "\n" + line }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (
                    String(line[..<colon]).lowercased(),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                ))
        }
        func value(_ key: String) -> String? {
            headers.first { $0.key == key }.map(\.value).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let name = value("name"), let version = value("version") else { return nil }
        var license: Package.License? = nil
        if let expression = value("license-expression") {
            license = .expression(expression)
        } else if let text = value("license"), !text.contains("\n"), text.utf8.count <= 200, text != "UNKNOWN" {
            license = .names([text])
        } else {
            let names = headers.filter { $0.key == "classifier" }.compactMap { h -> String? in
                let parts = h.value.components(separatedBy: " :: ")
                guard parts.count >= 2, parts[0] == "License", let last = parts.last,
                    !(parts.count == 2 && last == "OSI Approved")
                else { return nil }
                return last
            }
            if !names.isEmpty { license = .names(names) }
        }
        return Package(ecosystem: .pypi, name: name, version: version, license: license, layer: layer, path: path)
    }

    /// A `package.json` with a `name` and a `version` (others, like `{"type": "module"}` files,
    /// describe no package): its `license` (an SPDX expression, or the legacy `{"type": ...}` and
    /// `licenses` forms).
    static func npm(packageJSON bytes: [UInt8], layer: String, path: String) -> Package? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
            let name = object["name"] as? String, !name.isEmpty, let version = object["version"] as? String,
            !version.isEmpty
        else { return nil }
        func declared(_ text: String) -> Package.License {
            // npm asks for an SPDX expression; UNLICENSED and "SEE LICENSE IN ..." are names.
            BundleProperties.problem(key: "license", value: text, appName: "", layers: []) == nil
                && text != "UNLICENSED" ? .expression(text) : .names([text])
        }
        var license: Package.License? = nil
        if let text = object["license"] as? String, !text.isEmpty {
            license = declared(text)
        } else if let type = (object["license"] as? [String: Any])?["type"] as? String, !type.isEmpty {
            license = declared(type)
        } else if let list = object["licenses"] as? [[String: Any]] {
            let names = list.compactMap { $0["type"] as? String }.filter { !$0.isEmpty }
            if !names.isEmpty { license = .names(names) }
        }
        return Package(ecosystem: .npm, name: name, version: version, license: license, layer: layer, path: path)
    }

    /// The SBOM of the bundle `spec` makes from `layers`, encoded (`CycloneDX.encoded`).
    public static func document(spec: BundleSpec, layers: [BuiltLayer], target: BuildTarget, buildTime: UInt64)
        throws(BuildError) -> [UInt8]
    {
        let p = spec.properties
        var app: [String: Any] = [
            "type": "application", "bom-ref": spec.name, "name": spec.name, "version": spec.version,
            "purl": "pkg:generic/\(percentEncoded(spec.name))@\(percentEncoded(spec.version))",
        ]
        if let d = p.description { app["description"] = d }
        // Checked as an SPDX expression by the spec parser.
        if let l = p.license { app["licenses"] = [["expression": l]] }
        if let v = p.vendor {
            var supplier: [String: Any] = ["name": v]
            if let h = p.homepage { supplier["url"] = [h] }
            app["supplier"] = supplier
            app["publisher"] = v
        }
        if let h = p.homepage { app["externalReferences"] = [["type": "website", "url": h]] }
        var appProperties = [("bundle:target", target.name)]
        if let icon = p.icon { appProperties.append(("bundle:icon", icon)) }
        app["properties"] = properties(appProperties)

        var components: [[String: Any]] = []
        var dependencies: [[String: Any]] = []
        for l in layers {
            let ref = "layer:\(l.name)"
            components.append([
                "type": "file", "bom-ref": ref, "name": l.name,
                "description": "layer of the \(spec.name) bundle, extracted as one directory when an entry needs it",
                // The digest is BLAKE2b-256 of the layer's file table (which holds every file's
                // digest), not of a file: a property, not a hash a scanner would try to match.
                "properties": properties([
                    ("bundle:layer:codec", l.codec.name), ("bundle:layer:filter", l.filter.name),
                    ("bundle:layer:files", String(l.records.count)),
                    ("bundle:layer:size", String(l.uncompressedSize)),
                    ("bundle:layer:compressed-size", String(l.compressed.count)),
                    ("bundle:layer:digest", "blake2b-256:" + Hex.encode(l.digest)),
                ]),
            ])
            let directory = spec.layers.first { $0.name == l.name }?.directory
            let found = directory.map { packages(in: l, directory: $0) } ?? []
            var refs: [String] = []
            for package in found {
                let packageRef = "\(ref):\(package.purl)"
                refs.append(packageRef)
                var c: [String: Any] = [
                    "type": "library", "bom-ref": packageRef, "name": package.name, "version": package.version,
                    "purl": package.purl,
                    "properties": properties([("bundle:layer", package.layer), ("bundle:path", package.path)]),
                ]
                if let licenses = package.licenses { c["licenses"] = licenses }
                components.append(c)
            }
            dependencies.append(["ref": ref, "dependsOn": refs])
        }
        dependencies.insert(["ref": spec.name, "dependsOn": layers.map { "layer:\($0.name)" }], at: 0)
        var document: [String: Any] = [
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": [
                "timestamp": CycloneDX.timestamp(buildTime),
                "component": app,
                "tools": [
                    "components": [["type": "application", "name": "bundle-append", "version": ToolVersion.number]]
                ],
            ],
            "components": components,
            "dependencies": dependencies,
        ]
        document["serialNumber"] = CycloneDX.serialNumber(hashing: try CycloneDX.encoded(document))
        return try CycloneDX.encoded(document)
    }

    /// The `bundle-metadata` layer holding `document` at `metadata/sbom.cdx.json`, built like any
    /// other (`LayerBuilder`: frames, file table, digests) from a directory made in `scratch`.
    /// Modes are set, not left to the umask, so the layer's bytes are the same on every machine.
    static func layer(_ document: [UInt8], scratch: String) throws(BuildError) -> BuiltLayer {
        let metadata = scratch + "/metadata"
        guard mkdir(metadata, 0o755) == 0 || errno == EEXIST, chmod(metadata, 0o755) == 0 else {
            throw BuildError("cannot create \(metadata): \(String(cString: strerror(errno)))")
        }
        try BundleBuild.writeAtomically(document, to: scratch + "/" + path, mode: 0o644)
        return try LayerBuilder.build(
            LayerSpec(name: layerName, directory: scratch, codec: .zstd, level: Codec.zstd.defaultLevel))
    }

    static func properties(_ pairs: [(String, String)]) -> [[String: String]] {
        pairs.map { ["name": $0.0, "value": $0.1] }
    }

    /// Percent-encodes all but `A-Z a-z 0-9 . - _ ~` (a purl's name and version parts).
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2E
                || b == 0x2D || b == 0x5F || b == 0x7E
            {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}
