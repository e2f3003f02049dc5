import Foundation

/// Finds the native libraries a build ships, for the SBOM, by looking at what is there rather
/// than at a hand-kept list, so a library added to the build cannot be left out.
///
/// - In the staged tree: every ELF shared library file (`lib*.so*`) and every `DT_NEEDED` name of
///   any ELF file that resolves to a file in the tree.
/// - In a static executable: the libraries on its link line (the `link "..."` lines of the C
///   modules' module maps, and the C library that `-static-executable` links), each resolved to
///   the static archive the compiler links (`gcc -print-file-name=libX.a`).
///
/// Each library is matched to the Debian package that installed an identical file (`dpkg -S`,
/// then the SHA-256 of both), which gives its version, source package, purl and license. A library
/// no package owns keeps the version its file name carries and says so.
public enum NativeLibraryScan {
    public struct Library: Equatable, Sendable {
        /// `libbz2.so.1.0` (a shipped file) or `libsodium.a` (linked into the launcher).
        public var fileName: String
        /// Where it is: the path inside the bundle, or the archive's path on the build machine.
        public var location: String
        public var sha256: String
        /// The package's source name (`bzip2`, `glibc`), else the library's name (`libfoo`).
        public var name: String
        public var version: String
        public var purl: String
        /// SPDX-style license of the Debian package's copyright file (its first `License:`), or nil.
        public var license: String?
        /// How the version was found ("Debian package libbz2-1.0", "file name only").
        public var evidence: String

        public init(
            fileName: String, location: String, sha256: String, name: String, version: String, purl: String,
            license: String?, evidence: String
        ) {
            self.fileName = fileName
            self.location = location
            self.sha256 = sha256
            self.name = name
            self.version = version
            self.purl = purl
            self.license = license
            self.evidence = evidence
        }
    }

    /// Every shared library shipped in `roots` (bundle-relative prefix → directory on disk).
    public static func staged(_ roots: [(prefix: String, directory: String)]) -> [Library] {
        var files: [String: String] = [:]  // bundle path -> disk path, for every regular file
        for (prefix, dir) in roots {
            guard let e = FileManager.default.enumerator(atPath: dir) else { continue }
            while let rel = e.nextObject() as? String {
                var st = stat()
                let full = dir + "/" + rel
                if lstat(full, &st) == 0, st.st_mode & S_IFMT == S_IFREG { files[prefix + rel] = full }
            }
        }
        let elf = files.filter { ElfScan.isELF($0.value) }
        var wanted = Set(elf.keys.filter { isLibraryName(($0 as NSString).lastPathComponent) })
        let byName = Dictionary(
            elf.map { (($0.key as NSString).lastPathComponent, $0.key) }, uniquingKeysWith: { a, _ in a })
        for (_, disk) in elf {
            for needed in neededLibraries(disk) { if let inTree = byName[needed] { wanted.insert(inTree) } }
        }
        return wanted.sorted().map {
            describe(fileName: ($0 as NSString).lastPathComponent, location: $0, disk: files[$0]!)
        }
    }

    /// The libraries linked into a static executable: `link "x"` of each module map under
    /// `moduleMaps` (the C library is not among them: see `musl(zigRoot:requirements:)`).
    public static func linked(moduleMaps: [String]) -> [Library] {
        var names: [String] = []
        for path in moduleMaps {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("link ") else { continue }
                let parts = t.split(separator: "\"")
                if parts.count >= 2, !names.contains(String(parts[1])) { names.append(String(parts[1])) }
            }
        }
        var out: [Library] = []
        for n in names {
            let archive =
                run("gcc", ["-print-file-name=lib\(n).a"])?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard archive.hasPrefix("/"), FileManager.default.fileExists(atPath: archive) else { continue }
            let real = realPath(archive)
            out.append(describe(fileName: "lib\(n).a", location: real, disk: real))
        }
        return out
    }

    /// The C library of the launcher: musl, as the pinned zig ships it (scripts/build-stub.sh links
    /// with `zig cc -target <arch>-linux-musl`). `zigRoot` is the installed `ziglang` package
    /// directory, `requirements` the pin (packaging/zig/requirements.txt). Nil when either is missing.
    public static func musl(zigRoot: String, requirements: String) -> Library? {
        guard
            let header = try? String(
                contentsOfFile: zigRoot + "/lib/libc/musl/src/internal/version.h", encoding: .utf8),
            let (zig, wheel) = zigPin(requirements: requirements)
        else { return nil }
        let version = header.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
        guard !version.isEmpty else { return nil }
        return Library(
            fileName: "libc.a", location: "musl \(version) from the ziglang \(zig) wheel (PyPI)", sha256: wheel,
            name: "musl", version: version, purl: "pkg:generic/musl@\(version)", license: "MIT",
            evidence: "zig \(zig) (packaging/zig/requirements.txt; sha256 is the wheel's) ships musl \(version)")
    }

    /// The pinned zig (`ziglang==VERSION --hash=sha256:WHEEL` in `requirements`,
    /// packaging/zig/requirements.txt): its version and its wheel's SHA-256, or nil.
    public static func zigPin(requirements: String) -> (version: String, wheelSHA256: String)? {
        guard let pin = try? String(contentsOfFile: requirements, encoding: .utf8) else { return nil }
        let zig =
            pin.split(separator: "\n").compactMap { line -> String? in
                let t = line.trimmingCharacters(in: .whitespaces)
                return t.hasPrefix("ziglang==")
                    ? String(t.dropFirst("ziglang==".count).prefix { $0 != " " && $0 != "\\" }) : nil
            }.first ?? ""
        let wheel = pin.components(separatedBy: "--hash=sha256:").dropFirst().first.map { String($0.prefix(64)) } ?? ""
        return zig.isEmpty ? nil : (zig, wheel)
    }

    /// The module maps of the C modules under `sourcesDirectory` (Sources/C*/module.modulemap).
    public static func moduleMaps(in sourcesDirectory: String) -> [String] {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: sourcesDirectory)) ?? []
        return dirs.sorted().map { sourcesDirectory + "/" + $0 + "/module.modulemap" }.filter {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    static func realPath(_ path: String) -> String {
        guard let p = realpath(path, nil) else { return path }
        defer { free(p) }
        return String(cString: p)
    }

    static func isLibraryName(_ n: String) -> Bool { n.hasPrefix("lib") && n.contains(".so") }

    /// `DT_NEEDED` entries (`ElfReader`); none for a file it cannot read.
    static func neededLibraries(_ path: String) -> [String] {
        guard case .success(let info)? = ElfReader.read(path: path) else { return [] }
        return info.needed
    }

    static func describe(fileName: String, location: String, disk: String) -> Library {
        let digest = sha256(disk) ?? ""
        // A Debian package that installed a file of this name with the same bytes.
        for owner in packagesOwning(fileName) where sha256(owner.path) == digest {  // sha256sum follows symlinks
            if let info = packageInfo(owner.package) {
                return Library(
                    fileName: fileName, location: location, sha256: digest, name: info.source, version: info.version,
                    purl:
                        "pkg:deb/debian/\(info.binary)@\(percentEncode(info.version))?arch=\(info.arch)\(info.source != info.binary ? "&upstream=\(info.source)" : "")",
                    license: license(of: info.binary), evidence: "Debian package \(info.binary) \(info.version)")
            }
        }
        let base = fileName.components(separatedBy: ".so").first ?? fileName
        let soVersion = fileName.components(separatedBy: ".so.").dropFirst().first ?? ""
        return Library(
            fileName: fileName, location: location, sha256: digest, name: base, version: soVersion,
            purl: "pkg:generic/\(base)@\(soVersion.isEmpty ? "unknown" : soVersion)", license: nil,
            evidence: "no installed package has this file: version from the file name only")
    }

    static func packagesOwning(_ fileName: String) -> [(package: String, path: String)] {
        guard let out = run("dpkg-query", ["-S", "*/" + fileName]) else { return [] }
        var result: [(String, String)] = []
        for line in out.split(separator: "\n") {
            guard let sep = line.range(of: ": ") else { continue }
            let path = String(line[sep.upperBound...])
            guard (path as NSString).lastPathComponent == fileName else { continue }
            for p in line[..<sep.lowerBound].split(separator: ",") {
                result.append((p.trimmingCharacters(in: .whitespaces), path))
            }
        }
        return result
    }

    static func packageInfo(_ package: String) -> (binary: String, version: String, source: String, arch: String)? {
        guard
            let out = run(
                "dpkg-query", ["-W", "-f", "${Package}\t${Version}\t${source:Package}\t${Architecture}\n", package]),
            let line = out.split(separator: "\n").first
        else { return nil }
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 4, !f[1].isEmpty else { return nil }
        return (f[0], f[1], f[2].isEmpty ? f[0] : f[2], f[3])
    }

    /// The first `License:` of the package's machine-readable copyright file; for a free-form
    /// copyright file, the license its text grants (the GCC runtime exception, the LGPL, the GPL).
    static func license(of package: String) -> String? {
        guard let text = try? String(contentsOfFile: "/usr/share/doc/\(package)/copyright", encoding: .utf8) else {
            return nil
        }
        for line in text.split(separator: "\n") where line.hasPrefix("License:") {
            let v = line.dropFirst("License:".count).trimmingCharacters(in: .whitespaces)
            if !v.isEmpty { return v }
        }
        let phrases: [(String, String)] = [
            ("GCC RUNTIME LIBRARY EXCEPTION", "GPL-3.0-or-later WITH GCC-exception-3.1"),
            ("GNU Lesser General Public License", "LGPL-2.1-or-later"),
            ("GNU General Public License", "GPL-2.0-or-later"),
        ]
        let flat = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
        for (phrase, license) in phrases where flat.range(of: phrase, options: .caseInsensitive) != nil {
            return license
        }
        return nil
    }

    static func percentEncode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_~"))) ?? s
    }

    public static func sha256(_ path: String) -> String? {
        run("sha256sum", ["--", path]).flatMap { SHA256SumLine($0.split(separator: "\n").first ?? "")?.digest }
    }

    static func run(_ program: String, _ args: [String]) -> String? { CommandOutput.run(program, args) }
}
