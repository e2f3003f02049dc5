import Foundation
import BundleBuilder

/// The C libraries linked into the windows-x64 launcher, for the SBOM. They are not the system's
/// (as the linux launcher's are): scripts/lib/windows-clibs.sh builds them from Debian bookworm's
/// source packages and records in its stamp which version it used (`used <source> <version>`:
/// the pin, or its fallback when the mirror no longer serves the pin). The C runtime is mingw-w64's,
/// as the pinned zig ships it, on top of Windows' UCRT.
enum WindowsLauncherLibraries {
    static func read(clibs: String, requirements: String) -> [NativeLibraryScan.Library] {
        guard let stamp = try? String(contentsOfFile: clibs + "/stamp", encoding: .utf8) else {
            // The stub was built elsewhere (or its libraries removed): say so rather than list nothing silently.
            FileHandle.standardError.write(
                Data(
                    "    warning: \(clibs)/stamp is missing: the SBOM cannot name the C libraries linked into the windows-x64 launcher (scripts/lib/windows-clibs.sh)\n"
                        .utf8))
            return []
        }
        // Source package → (library file, SPDX license as Debian's copyright files give it).
        let known: [String: (file: String, name: String, license: String)] = [
            "libsodium": ("libsodium.a", "libsodium", "ISC"),
            "libzstd": ("libzstd.a", "zstd", "BSD-3-Clause OR GPL-2.0-only"),
            "xz-utils": ("liblzma.a", "liblzma", "0BSD"),
            "zlib": ("libz.a", "zlib", "Zlib"),
        ]
        var out: [NativeLibraryScan.Library] = []
        for line in stamp.split(separator: "\n") where line.hasPrefix("used ") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let k = known[String(parts[1])] else { continue }
            let version = String(parts[2])
            let archive = clibs + "/lib/" + k.file
            guard let digest = NativeLibraryScan.sha256(archive) else { continue }
            out.append(
                NativeLibraryScan.Library(
                    fileName: k.file, location: archive, sha256: digest, name: k.name,
                    version: version, purl: "pkg:deb/debian/\(parts[1])@\(version)?arch=source",
                    license: k.license,
                    evidence:
                        "built for x86_64-windows-gnu from Debian's source package \(parts[1]) \(version) by scripts/lib/windows-clibs.sh"
                ))
        }
        if let (zig, wheel) = NativeLibraryScan.zigPin(requirements: requirements) {
            if !wheel.isEmpty {
                out.append(
                    NativeLibraryScan.Library(
                        fileName: "libmingw32.a", location: "mingw-w64 from the ziglang \(zig) wheel (PyPI)",
                        sha256: wheel, name: "mingw-w64", version: "zig-\(zig)",
                        purl: "pkg:generic/mingw-w64@zig-\(zig)", license: "ZPL-2.1 AND MIT",
                        evidence:
                            "zig \(zig) (packaging/zig/requirements.txt; sha256 is the wheel's) ships the mingw-w64 C runtime the launcher links"
                    ))
            }
        }
        return out
    }
}
