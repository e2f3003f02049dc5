import Foundation
import BundleBuilder
import BundleFormat

/// `metadata/version.json`, `metadata/checksums.sha256` and the bundle spec of the staged tree.
enum Metadata {
    /// What is inside, for people and for `dgmo sysinfo`-style tooling: versions of every
    /// embedded runtime and locked package. Keys sorted, so the same build gives the same bytes.
    static func write(
        compile: Compile, name: String, version: String, buildTime: UInt64,
        versions: [String: String], pins: [String: String], engineLock: [LockCheck.Pin],
        toolLock: [LockCheck.Pin], shell: Shell
    ) throws(BuildError) {
        var components = pins
        components["bun"] = versions["bun"]
        components["go"] = versions["go"]
        components["cpython"] = versions["python"]
        components["glibc"] = versions["glibc"]
        let info: [String: Any] = [
            "name": name, "version": version, "platform": compile.target.name, "build_time": buildTime,
            "components": components,
            "layers": [
                "app": "application-code/, metadata/, embedded-resources/assets/",
                "bun": "embedded-resources/bun-runtime/",
                "python": "embedded-resources/python-runtime/",
                "native": "embedded-resources/native/",
            ],
        ]
        try writeJSON(info, to: compile.appLayer + "/metadata/version.json")
        // Checksums of every file the bundle carries, as the union of the layers lays them out.
        var lines: [String] = []
        for layer in [compile.bunLayer, compile.pythonLayer, compile.nativeLayer] {
            lines += try SHA256Sum.lines(root: layer, prefix: "", shell: shell)
        }
        var digest: [String: String] = [:]
        for l in lines { if let line = SHA256SumLine(l) { digest[line.name] = line.digest } }
        // Native libraries by scanning what ships: the staged layers, and the launcher's link line
        // (the module maps of the C modules it was built from, beside this tool's sources).
        let staged = NativeLibraryScan.staged(
            [compile.bunLayer, compile.pythonLayer, compile.nativeLayer].map { (prefix: "", directory: $0) })
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources").path
        let root = URL(fileURLWithPath: sources).deletingLastPathComponent().path
        let zigRoot =
            (try? FileManager.default.contentsOfDirectory(atPath: root + "/.build-dgmo/zig/lib"))?
            .first.map { root + "/.build-dgmo/zig/lib/" + $0 + "/site-packages/ziglang" } ?? ""
        let launcher =
            compile.target.os == .windows
            ? WindowsLauncherLibraries.read(
                clibs: root + "/.build-dgmo/windows-x64/clibs", requirements: root + "/packaging/zig/requirements.txt")
            : NativeLibraryScan.linked(moduleMaps: NativeLibraryScan.moduleMaps(in: sources))
                + [NativeLibraryScan.musl(zigRoot: zigRoot, requirements: root + "/packaging/zig/requirements.txt")]
                .compactMap { $0 }
        var sbomVersions = versions
        if compile.target.os == .windows {
            // The Microsoft C runtime python.org's embeddable CPython ships beside python3XY.dll.
            for dll in ["vcruntime140", "vcruntime140_1"] {
                sbomVersions[dll] = try WindowsRuntimes.fileVersion(
                    ofPE: compile.pythonLayer + "/embedded-resources/python-runtime/\(dll).dll")
            }
        }
        let sbom = SBOM.document(
            name: name, version: version, buildTime: buildTime, versions: sbomVersions,
            engineLock: engineLock, toolLock: toolLock, fileDigests: digest,
            pythonLicenses: PythonLicenses.read(engineLock.map(\.name), venv: compile.tools.venv),
            debArch: compile.glibc?.arch.deb ?? "amd64", target: compile.target,
            nativeLibraries: staged, launcherLibraries: launcher)
        try writeJSON(sbom, to: compile.appLayer + "/metadata/sbom.cdx.json")
        lines += try SHA256Sum.lines(root: compile.appLayer, prefix: "", shell: shell)
            .filter { !$0.hasSuffix("  metadata/checksums.sha256") }
        lines.sort { $0.dropFirst(66).utf8.lexicographicallyPrecedes($1.dropFirst(66).utf8) }
        try Files.write(lines.joined(separator: "\n") + "\n", to: compile.appLayer + "/metadata/checksums.sha256")
    }

    /// `CycloneDX.encoded`'s bytes (sorted keys, a final newline): version.json and the SBOM alike.
    static func writeJSON(_ object: Any, to path: String) throws(BuildError) {
        let json: [UInt8]
        do { json = try CycloneDX.encoded(object) } catch { throw BuildError("\(path): \(error.message)") }
        try Files.write(String(decoding: json, as: UTF8.self), to: path)
    }

    /// The bundle spec, written to WORK/dgmo.toml (so `bundle-append build` can rebuild from the same
    /// stage) and parsed by the same code as bundle-append's.
    static func spec(
        compile: Compile, name: String, version: String, goCommands: [String],
        release: Bool, work: String
    ) throws(BuildError) -> BundleSpec {
        let engine = "{python}/embedded-resources/python-runtime/dgm-engine"
        let exe = compile.executable
        // The machine-code layers get the branch filter of the target's processor (docs/format.md,
        // "Filters"): x86 for x86-64 targets, arm64 for arm64 ones.
        let (machineCodeFilter, machineCodeNote) =
            compile.target.cpu == .arm64
            ? ("arm64", "arm64 machine code: the arm64\n# branch filter makes them compress smaller")
            : ("x86", "x86-64 machine code: the x86\n# branch filter makes them compress 5-6 % smaller")
        var toml = """
            # Generated by dgmo-build from the staged tree; see docs/dgmo.md.
            [bundle]
            name = "\(name)"
            version = "\(version)"
            # DGMO keeps the launcher names every DGMO release had (DGMO_CACHE_DIR, DGMO_ENTRY,
            # ~/.cache/dgmo): the app name's, so the manifest stores neither (docs/spec.md).
            env-prefix = "\(Names.environmentPrefix(name))"
            cache-name = "\(name)"

            # The CLI, its plugins, metadata and assets: what every command needs.
            [layers.app]
            path = "stage/app"
            compression = "zstd"
            level = 3

            # Bun, the PyInstaller tree and the Go programs are mostly \(machineCodeNote) (docs/format.md, "Filters").
            [layers.bun]
            path = "stage/bun"
            compression = "zstd"
            level = 3
            filter = "\(machineCodeFilter)"
            # 12 MiB frames: 1 % smaller than 8 MiB, and two threads still decode them within the
            # launcher's 56 MiB budget (docs/benchmarks.md, "Frame size").
            frame-size = "12MiB"

            # Only `dgmo evolve` needs Python, so it is extracted on its first use.
            [layers.python]
            path = "stage/python"
            compression = "zstd"
            level = 3
            filter = "\(machineCodeFilter)"

            [layers.native]
            path = "stage/native"
            compression = "zstd"
            level = 3
            filter = "\(machineCodeFilter)"

            [entries.dgmo]
            exec = ["{bun}/embedded-resources/bun-runtime/\(exe("bun"))", "{app}/application-code/cli-entry.js"]
            default = true

            \(compile.target.os == .windows ? windowsEngineEntry : linuxEngineEntry(engine: engine, loader: compile.glibc?.loader ?? ""))
            """
        for cmd in goCommands {
            let exec =
                compile.target.os == .windows
                ? "[\"{native}/embedded-resources/native/\(exe(Compile.multiCall))\", \"\(cmd)\"]"
                : "[\"{native}/embedded-resources/native/\(cmd)\"]"
            toml += """

                [entries.dgmo-\(cmd)]
                exec = \(exec)

                """
        }
        let path = work + "/dgmo.toml"
        try Files.write(toml, to: path)
        do { return try BundleSpec.parse(toml: toml, baseDirectory: work, fileName: path) } catch {
            throw BuildError(error.message)
        }
    }

    /// The engine runs on the glibc it carries (docs/platforms.md): the PyInstaller bootloader is
    /// started through that glibc's loader, which finds every library in _internal/ (PyInstaller's
    /// and glibc's) without touching the environment. The two _PYI_ variables tell the bootloader
    /// it need not restart itself to set LD_LIBRARY_PATH (it would restart through the system's
    /// loader when /proc is not mounted); if its path does not match, it restarts through this
    /// loader (found via /proc/self/exe) with LD_LIBRARY_PATH=_internal, which also works.
    static func linuxEngineEntry(engine: String, loader: String) -> String {
        """
        [entries.dgmo-engine]
        exec = ["\(engine)/_internal/\(loader)", "--library-path", "\(engine)/_internal", "\(engine)/dgm-engine"]
        env = { _PYI_ARCHIVE_FILE = "\(engine)/dgm-engine", _PYI_PARENT_PROCESS_LEVEL = "-1" }
        """
    }

    /// windows-x64: the embeddable CPython runs the engine package. Its ._pth makes it isolated
    /// (only the paths listed there; no site, no PYTHON* variables); -B because the layer is
    /// read-only once extracted and holds sourceless .pyc only.
    static let windowsEngineEntry = """
        # The embeddable CPython, isolated by its ._pth (only its stdlib zip and site-packages).
        [entries.dgmo-engine]
        exec = ["{python}/embedded-resources/python-runtime/python.exe", "-B", "-m", "dgm"]
        """

}

/// The license each locked Python package declares in its installed metadata (the toolchain's
/// virtual environment has the same wheels the engine was built from): `License-Expression`,
/// else `License`, else the first `License ::` classifier.
enum PythonLicenses {
    static func read(_ names: [String], venv: String) -> [String: String] {
        let lib = venv + "/lib"
        let pythons = ((try? FileManager.default.contentsOfDirectory(atPath: lib)) ?? []).filter {
            $0.hasPrefix("python")
        }
        var out: [String: String] = [:]
        for py in pythons {
            let site = lib + "/" + py + "/site-packages"
            let infos = (try? FileManager.default.contentsOfDirectory(atPath: site)) ?? []
            for name in names where out[name] == nil {
                let norm = name.lowercased().replacingOccurrences(of: "-", with: "_")
                guard
                    let info = infos.first(where: {
                        $0.lowercased().hasPrefix(norm + "-") && $0.hasSuffix(".dist-info")
                    }),
                    let text = try? String(contentsOfFile: site + "/" + info + "/METADATA", encoding: .utf8)
                else { continue }
                var expression: String?, license: String?, classifier: String?
                for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.isEmpty { break }  // headers end at the first blank line
                    if line.hasPrefix("License-Expression: ") {
                        expression = String(line.dropFirst(20))
                    } else if line.hasPrefix("License: "), license == nil {
                        license = String(line.dropFirst(9))
                    } else if line.hasPrefix("Classifier: License :: "), classifier == nil {
                        classifier = line.components(separatedBy: " :: ").last
                    }
                }
                if let l = expression ?? license.flatMap({ $0.count <= 64 && !$0.contains("\n") ? $0 : nil })
                    ?? classifier
                {
                    out[name] = l
                }
            }
        }
        return out
    }
}
