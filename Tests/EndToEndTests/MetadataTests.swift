import Foundation
import XCTest
import BundleFormat
import TestSupport

/// The `[bundle]` metadata (description, homepage, license, vendor, icon) as `inspect` and
/// `--launcher info` show it, its refusals, and the SBOM `bundle-append build` adds (docs/spec.md,
/// "SBOM"), printed by `--launcher sbom`.
final class MetadataTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        try Harness.tool(["keygen", dir + "/k"])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A PNG's first bytes (signature, then the start of an IHDR chunk).
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])

    static let fullBundle = """
        name = "meta"
        version = "2.1.0"
        description = "Prints metadata — with a dash"
        homepage = "https://example.org/meta"
        license = "Apache-2.0 OR MIT"
        vendor = "Example Tools Ltd."
        icon = "{app}/share/meta.png"
        """

    /// `[bundle]` with `bundleKeys`, one layer `app` (from `dir/app`) and one entry running its script.
    func spec(_ bundleKeys: String, extraLayers: String = "") -> String {
        """
        [bundle]
        \(bundleKeys)
        [layers.app]
        path = "app"
        \(extraLayers)
        [entries.meta]
        exec = ["/bin/sh", "{app}/run.sh"]
        """
    }

    /// Writes the app layer (its script, the icon, and `files`) and the spec, and builds `dir/out`
    /// with `args`; returns the tool's output (not checked).
    func build(_ spec: String, files: [String: Data] = [:], args: [String] = []) throws -> Harness.Output {
        try Harness.write("#!/bin/sh\necho meta ran\n", to: dir + "/app/run.sh", mode: 0o755)
        try FileManager.default.createDirectory(atPath: dir + "/app/share", withIntermediateDirectories: true)
        try Self.png.write(to: URL(fileURLWithPath: dir + "/app/share/meta.png"))
        for (path, data) in files {
            try FileManager.default.createDirectory(
                atPath: (dir + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: dir + "/" + path))
        }
        try Harness.write(spec, to: dir + "/spec.toml")
        return try Harness.run(
            Harness.tool,
            ["build", dir + "/spec.toml", "-o", dir + "/out", "--key", dir + "/k.key", "--stub", Harness.stub] + args,
            env: ["SOURCE_DATE_EPOCH": "1700000000"])
    }

    func launcher(_ args: [String]) throws -> Harness.Output {
        try Harness.run(dir + "/out", ["--launcher"] + args, env: ["META_LAUNCHER_CACHE_DIR": dir + "/cache"])
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testInspectAndLauncherInfoShowTheMetadataAndTheLauncherNames() throws {
        let b = try build(spec(Self.fullBundle))
        XCTAssertEqual(b.status, 0, b.stderr)
        let expected = [
            "description": "Prints metadata — with a dash", "homepage": "https://example.org/meta",
            "license": "Apache-2.0 OR MIT", "vendor": "Example Tools Ltd.", "icon": "{app}/share/meta.png",
        ]
        let lines = [
            "description:    Prints metadata — with a dash", "homepage:       https://example.org/meta",
            "license:        Apache-2.0 OR MIT", "vendor:         Example Tools Ltd.",
            "icon:           {app}/share/meta.png",
            "env prefix:     META_LAUNCHER (META_LAUNCHER_CACHE_DIR, META_LAUNCHER_ENTRY)",
            "cache name:     meta-launcher",
        ]
        let inspect = try Harness.tool(["inspect", dir + "/out"]).stdout
        let info = try launcher(["info"])
        XCTAssertEqual(info.status, 0, info.stderr)
        for text in [inspect, info.stdout] {
            let shown = text.split(separator: "\n").map(String.init)
            for line in lines { XCTAssertTrue(shown.contains(line), "'\(line)' in:\n\(text)") }
        }
        let inspectJSON = try json(try Harness.tool(["inspect", dir + "/out", "--json"]).stdout)
        let infoJSON = try json(try launcher(["info", "--json"]).stdout)
        for doc in [inspectJSON, infoJSON] {
            XCTAssertEqual(doc["metadata"] as? [String: String], expected)
            XCTAssertEqual(
                doc["launcherNames"] as? [String: String], ["envPrefix": "META_LAUNCHER", "cacheName": "meta-launcher"])
        }

        // Without metadata: no metadata lines, an empty object, the names a spec defaults to.
        let plain = try build(spec("name = \"meta\"\nversion = \"1\""))
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let bare = try launcher(["info"]).stdout
        for key in expected.keys { XCTAssertFalse(bare.contains("\n\(key):"), bare) }
        XCTAssertTrue(bare.contains("\ncache name:     meta-launcher\n"), bare)
        XCTAssertEqual((try json(try launcher(["info", "--json"]).stdout)["metadata"] as? [String: String]), [:])
    }

    /// Each bad value fails the build in one line `spec.toml: bundle.<key>: ...`, and nothing is written.
    func testBadMetadataIsRefusedNamingTheKey() throws {
        let cases: [(key: String, line: String, says: String)] = [
            ("license", "license = \"MIT OR\"", "'MIT OR' is not an SPDX license expression"),
            ("license", "license = \"(MIT\"", "is not an SPDX license expression"),
            ("homepage", "homepage = \"ftp://x.org\"", "must be an http:// or https:// URL"),
            ("description", "description = \"two\\u0007bells\"", "without control characters"),
            ("vendor", "vendor = \"line\\nbreak\"", "on one line"),
            ("icon", "icon = \"{app}/share/missing.png\"", "'{app}/share/missing.png' is not in layer 'app'"),
            ("icon", "icon = \"{app}/run.sh\"", "is not a PNG, ICO or SVG image"),
            ("icon", "icon = \"{app}/share\"", "is a directory in layer 'app'"),
            ("icon", "icon = \"{nolayer}/x.png\"", "names no layer of the bundle"),
            ("icon", "icon = \"{app}/../x.png\"", "must be {layer}/path"),
        ]
        for c in cases {
            let o = try build(spec("name = \"meta\"\nversion = \"1\"\n\(c.line)"))
            XCTAssertNotEqual(o.status, 0, c.line)
            let message = o.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertTrue(message.contains("spec.toml: bundle.\(c.key): "), "\(c.line): \(message)")
            XCTAssertTrue(message.contains(c.says), "\(c.line): \(message)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), c.line)
        }
        // An ICO and an SVG are icons; the SVG may start with an XML declaration.
        let images: [(String, Data)] = [
            ("share/a.ico", Data([0, 0, 1, 0, 1, 0, 16, 16])),
            ("share/a.svg", Data("\u{FEFF}\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n".utf8)),
            ("share/b.svg", Data("<?xml version=\"1.0\"?>\n<!-- drawn -->\n<svg/>\n".utf8)),
        ]
        for (path, data) in images {
            let o = try build(
                spec("name = \"meta\"\nversion = \"1\"\nicon = \"{app}/\(path)\""), files: ["app/" + path: data])
            XCTAssertEqual(o.status, 0, "\(path): \(o.stderr)")
        }
        let xml = try build(
            spec("name = \"meta\"\nversion = \"1\"\nicon = \"{app}/share/c.svg\""),
            files: ["app/share/c.svg": Data("<?xml version=\"1.0\"?>\n<html/>\n".utf8)])
        XCTAssertNotEqual(xml.status, 0, "XML that is no SVG is refused")
        XCTAssertTrue(xml.stderr.contains("is not a PNG, ICO or SVG image"), xml.stderr)
    }

    static let metadataFile = Data(
        """
        Metadata-Version: 2.1
        Name: Fancy_Table.Lib
        Version: 0.9.0+local
        License-Expression: MIT
        Classifier: License :: OSI Approved :: MIT License
        Classifier: Programming Language :: Python :: 3

        Fancy tables. Name: not-a-header
        """.utf8)

    func testTheSBOMListsTheBundleItsLayersAndTheirPythonAndNodePackages() throws {
        let files: [String: Data] = [
            "app/lib/site-packages/fancy_table.lib-0.9.0.dist-info/METADATA": Self.metadataFile,
            "app/lib/site-packages/old-1.0.dist-info/METADATA": Data(
                "Metadata-Version: 1.2\nName: old\nVersion: 1.0\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: BSD License\n"
                    .utf8),
            "app/node_modules/@scope/pad/package.json": Data(
                #"{"name": "@scope/pad", "version": "1.3.0", "license": "WTFPL OR MIT"}"#.utf8),
            "app/node_modules/legacy/package.json": Data(
                #"{"name": "legacy", "version": "0.1.0", "licenses": [{"type": "MIT"}, {"type": "GPL-2.0"}]}"#.utf8),
            "app/node_modules/pad-module/package.json": Data(#"{"type": "module"}"#.utf8),
            "app/node_modules/broken/package.json": Data("{not json".utf8),
            // Over 4 MiB: a METADATA's body is not read (its headers are listed); a package.json is
            // skipped with a warning naming it (review of issue 28).
            "app/lib/site-packages/big-2.0.dist-info/METADATA": Data(
                ("Metadata-Version: 2.1\nName: big\nVersion: 2.0\n\n" + String(repeating: "changelog\n", count: 500_000))
                    .utf8),
            "app/node_modules/huge/package.json": Data(
                (#"{"name": "huge", "version": "1.0.0", "description": ""# + String(repeating: "x", count: 5 << 20)
                    + #""}"#).utf8),
        ]
        let b = try build(spec(Self.fullBundle), files: files, args: ["--sbom-out", dir + "/out.cdx.json"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(
            b.stderr.contains(
                "bundle-append: warning: SBOM: app/node_modules/huge/package.json is over 4 MiB, so its package is not listed"
            ), b.stderr)
        XCTAssertTrue(
            b.stdout.contains("SBOM: generated in layer bundle-metadata (metadata/sbom.cdx.json), written to"),
            b.stdout)
        let written = try Data(contentsOf: URL(fileURLWithPath: dir + "/out.cdx.json"))

        // The launcher prints exactly what the build wrote, from the signed bundle.
        let printed = try launcher(["sbom"])
        XCTAssertEqual(printed.status, 0, printed.stderr)
        XCTAssertEqual(Data(printed.stdout.utf8), written)
        try assertValidCycloneDX(dir + "/out.cdx.json")

        let doc = try json(printed.stdout)
        XCTAssertEqual(doc["bomFormat"] as? String, "CycloneDX")
        XCTAssertEqual(doc["specVersion"] as? String, "1.5")
        XCTAssertTrue((doc["serialNumber"] as? String ?? "").hasPrefix("urn:uuid:"))
        let metadata = try XCTUnwrap(doc["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["timestamp"] as? String, "2023-11-14T22:13:20Z", "the build time, SOURCE_DATE_EPOCH")
        let app = try XCTUnwrap(metadata["component"] as? [String: Any])
        XCTAssertEqual(app["name"] as? String, "meta")
        XCTAssertEqual(app["version"] as? String, "2.1.0")
        XCTAssertEqual(app["description"] as? String, "Prints metadata — with a dash")
        XCTAssertEqual(app["licenses"] as? [[String: String]], [["expression": "Apache-2.0 OR MIT"]])
        XCTAssertEqual((app["supplier"] as? [String: Any])?["name"] as? String, "Example Tools Ltd.")
        XCTAssertEqual(
            app["externalReferences"] as? [[String: String]], [["type": "website", "url": "https://example.org/meta"]])

        let components = try XCTUnwrap(doc["components"] as? [[String: Any]])
        func property(_ c: [String: Any], _ name: String) -> String? {
            (c["properties"] as? [[String: String]])?.first { $0["name"] == name }?["value"]
        }
        // The spec's one layer, with the digest inspect shows; not the SBOM's own layer.
        let layers = components.filter { $0["type"] as? String == "file" }
        XCTAssertEqual(layers.map { $0["name"] as? String }, ["app"])
        let inspected = try json(try Harness.tool(["inspect", dir + "/out", "--json"]).stdout)
        let appLayer = try XCTUnwrap((inspected["layers"] as? [[String: Any]])?.first)
        XCTAssertEqual(property(layers[0], "bundle:layer:digest"), "blake2b-256:" + (appLayer["digest"] as! String))
        XCTAssertEqual(property(layers[0], "bundle:layer:files"), String(appLayer["files"] as! Int))
        XCTAssertEqual(property(layers[0], "bundle:layer:codec"), "zstd")

        let packages = Dictionary(
            components.compactMap { c in (c["purl"] as? String).map { ($0, c) } }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(
            Set(packages.keys),
            [
                "pkg:pypi/fancy-table-lib@0.9.0%2Blocal", "pkg:pypi/old@1.0", "pkg:npm/%40scope/pad@1.3.0",
                "pkg:npm/legacy@0.1.0", "pkg:pypi/big@2.0",
            ])
        let fancy = try XCTUnwrap(packages["pkg:pypi/fancy-table-lib@0.9.0%2Blocal"])
        XCTAssertEqual(fancy["name"] as? String, "Fancy_Table.Lib")
        XCTAssertEqual(fancy["version"] as? String, "0.9.0+local")
        XCTAssertEqual(fancy["licenses"] as? [[String: String]], [["expression": "MIT"]])
        XCTAssertEqual(property(fancy, "bundle:layer"), "app")
        XCTAssertEqual(property(fancy, "bundle:path"), "lib/site-packages/fancy_table.lib-0.9.0.dist-info/METADATA")
        // `License: UNKNOWN` says nothing: the classifier names the license.
        XCTAssertEqual(
            packages["pkg:pypi/old@1.0"]?["licenses"] as? [[String: [String: String]]],
            [["license": ["name": "BSD License"]]])
        XCTAssertEqual(
            packages["pkg:npm/%40scope/pad@1.3.0"]?["licenses"] as? [[String: String]], [["expression": "WTFPL OR MIT"]]
        )
        XCTAssertEqual(
            packages["pkg:npm/legacy@0.1.0"]?["licenses"] as? [[String: [String: String]]],
            [["license": ["name": "MIT"]], ["license": ["name": "GPL-2.0"]]])

        // Deterministic: the same inputs give the same SBOM and the same bundle.
        let first = try Harness.bytes(dir + "/out")
        let again = try build(spec(Self.fullBundle), files: files, args: ["--sbom-out", dir + "/again.cdx.json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/again.cdx.json")), written)
        XCTAssertEqual(try Harness.bytes(dir + "/out"), first)
    }

    /// Python's own reader (`importlib.metadata`) and PEP 503's normalization, over the dist-info
    /// directories of the packages installed on this machine, agree with the SBOM's packages.
    func testTheSBOMListsRealInstalledPythonPackagesAsPythonReadsThem() throws {
        let python = "/usr/bin/python3"
        try require(
            FileManager.default.isExecutableFile(atPath: python), "needs python3 (scripts/install-deps.sh installs it)")
        // Every installed distribution's dist-info directory (pip at least comes with python3).
        let found = try Harness.run(
            python,
            [
                "-c",
                """
                import importlib.metadata as m
                for d in m.distributions():
                    p = str(getattr(d, "_path", ""))
                    if p.endswith(".dist-info"): print(p)
                """,
            ])
        XCTAssertEqual(found.status, 0, found.stderr)
        let infos = Array(Set(found.stdout.split(separator: "\n").map(String.init))).sorted()
        try require(!infos.isEmpty, "no installed Python package has a dist-info directory here")
        var files: [String: Data] = [:]
        for info in infos {
            guard let data = FileManager.default.contents(atPath: info + "/METADATA") else { continue }
            files["app/site-packages/" + (info as NSString).lastPathComponent + "/METADATA"] = data
        }
        let b = try build(spec("name = \"meta\"\nversion = \"1\""), files: files)
        XCTAssertEqual(b.status, 0, b.stderr)
        let doc = try json(try launcher(["sbom"]).stdout)
        let listed = Set(
            (doc["components"] as? [[String: Any]] ?? []).compactMap { $0["purl"] as? String }.filter {
                $0.hasPrefix("pkg:pypi/")
            })
        let expected = try Harness.run(
            python,
            [
                "-c",
                """
                import importlib.metadata as m, re, sys, urllib.parse
                for d in m.distributions(path=[sys.argv[1]]):
                    name = re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
                    print("pkg:pypi/%s@%s" % (urllib.parse.quote(name, safe=""), urllib.parse.quote(d.version, safe="")))
                """, dir + "/app/site-packages",
            ])
        XCTAssertEqual(expected.status, 0, expected.stderr)
        let purls = Set(expected.stdout.split(separator: "\n").map(String.init))
        XCTAssertFalse(purls.isEmpty)
        XCTAssertEqual(listed, purls)
        try Harness.write(try launcher(["sbom"]).stdout, to: dir + "/real.cdx.json")
        try assertValidCycloneDX(dir + "/real.cdx.json")
    }

    func testNoSbomBuildsABundleThatCarriesNone() throws {
        let b = try build(spec(Self.fullBundle), args: ["--no-sbom"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertFalse(b.stdout.contains("SBOM"), b.stdout)
        let o = try launcher(["sbom"])
        XCTAssertEqual(o.status, 125)
        XCTAssertEqual(o.stdout, "")
        XCTAssertTrue(o.stderr.contains("this bundle carries no SBOM"), o.stderr)
        let layers =
            try json(try Harness.tool(["inspect", dir + "/out", "--json"]).stdout)["layers"] as? [[String: Any]]
        XCTAssertEqual(layers?.map { $0["name"] as? String }, ["app"])

        let both = try build(spec(Self.fullBundle), args: ["--no-sbom", "--sbom-out", dir + "/x.json"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("--sbom-out writes the SBOM the build adds: drop --no-sbom"), both.stderr)
    }

    /// A layer with its own `metadata/sbom.cdx.json` (as DGMO's app layer has) keeps it as the
    /// bundle's SBOM: no layer is added, and the launcher prints those bytes.
    func testALayerWithItsOwnSBOMGetsNoGeneratedOne() throws {
        let own = Data("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\", \"note\": \"the app's own\"}\n".utf8)
        let b = try build(
            spec(Self.fullBundle), files: ["app/metadata/sbom.cdx.json": own],
            args: ["--sbom-out", dir + "/out.cdx.json"])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertTrue(b.stdout.contains("SBOM: layer app carries metadata/sbom.cdx.json (none generated)"), b.stdout)
        let layers =
            try json(try Harness.tool(["inspect", dir + "/out", "--json"]).stdout)["layers"] as? [[String: Any]]
        XCTAssertEqual(layers?.map { $0["name"] as? String }, ["app"])
        XCTAssertEqual(Data(try launcher(["sbom"]).stdout.utf8), own)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/out.cdx.json")), own)
        // The same bundle as one built with --no-sbom: the SBOM option changes nothing here.
        let withOwn = try Harness.bytes(dir + "/out")
        let none = try build(spec(Self.fullBundle), files: ["app/metadata/sbom.cdx.json": own], args: ["--no-sbom"])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertEqual(try Harness.bytes(dir + "/out"), withOwn)
    }

    /// The SBOM's layer is signed like any other: a flipped byte in it is refused by `--launcher
    /// sbom` and `verify`, although a run, which never reads that layer, goes on.
    func testATamperedSBOMLayerIsRefused() throws {
        let b = try build(spec(Self.fullBundle))
        XCTAssertEqual(b.status, 0, b.stderr)
        var bytes = try Harness.bytes(dir + "/out")
        let t = try Harness.trailer(bytes)
        let manifest = try Manifest(
            decoding: Array(bytes[Int(t.header.lowerBound)..<Int(t.header.upperBound)]),
            layersLength: UInt64(t.layers.count), tablesLength: UInt64(t.tables.count))
        let layer = try XCTUnwrap(manifest.layers.last)
        XCTAssertEqual(layer.name, "bundle-metadata")
        bytes[Int(t.layers.lowerBound + layer.offset + layer.compressedSize / 2)] ^= 0x10
        try Harness.writeBytes(bytes, to: dir + "/out")
        let sbom = try launcher(["sbom"])
        XCTAssertEqual(sbom.status, 125)
        XCTAssertEqual(sbom.stdout, "")
        XCTAssertTrue(sbom.stderr.contains("layer 'bundle-metadata': frame 0 does not match its digest"), sbom.stderr)
        let verify = try Harness.run(Harness.tool, ["verify", dir + "/out", "--pubkey", dir + "/k.pub"])
        XCTAssertNotEqual(verify.status, 0)
        XCTAssertTrue(verify.stderr.contains("bundle-metadata"), verify.stderr)
        let run = try Harness.run(dir + "/out", [], env: ["META_LAUNCHER_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(run.stdout, "meta ran\n", run.stderr)
    }

    func testTheGeneratedLayersNameIsReserved() throws {
        let extra = "[layers.bundle-metadata]\npath = \"app\""
        let o = try build(spec(Self.fullBundle, extraLayers: extra))
        XCTAssertNotEqual(o.status, 0)
        XCTAssertTrue(
            o.stderr.contains(
                "spec.toml: layers.bundle-metadata: layer name 'bundle-metadata' is reserved for the generated SBOM; rename it or pass --no-sbom"
            ), o.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))
        let allowed = try build(spec(Self.fullBundle, extraLayers: extra), args: ["--no-sbom"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
    }

    /// CycloneDX's official validator (pinned in packaging/lint/requirements.txt, as ReleaseLintTests uses it).
    func assertValidCycloneDX(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let python = ReleaseLintTests.venv + "/bin/python"
        try require(
            FileManager.default.isExecutableFile(atPath: python),
            "\(python) is missing: run 'scripts/install-deps.sh --release' (make test does)", file: file, line: line)
        let v = try Harness.run(
            python,
            [
                "-c",
                """
                import sys
                from cyclonedx.schema import SchemaVersion
                from cyclonedx.validation.json import JsonStrictValidator
                errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
                print("INVALID", errors) if errors else print("VALID")
                """, path,
            ])
        XCTAssertEqual(v.stdout, "VALID\n", v.stdout + v.stderr, file: file, line: line)
    }
}
