import Foundation
import BundleBuilder

/// What the dynamic linker needs from an ELF file, read with `readelf` (binutils): the libraries it
/// names (`DT_NEEDED`), the symbol versions it needs from them (`.gnu.version_r`) and the ones it
/// defines itself (`.gnu.version_d`). Used to decide which C library files the Python layer must
/// carry and to refuse a build whose files need a newer glibc than the one carried.
enum ElfScan {
    /// ELF files are found by their magic bytes, not by name or mode: PyInstaller names
    /// extension modules `*.so` but the bootloader has no suffix.
    static func isELF(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 4)) == Data([0x7f, 0x45, 0x4c, 0x46])
    }

    /// Every regular ELF file under `root` (relative paths; symlinks are skipped, their targets are scanned).
    static func files(under root: String) -> [String] {
        Files.walk(root).filter { rel in
            var st = stat()
            return lstat(root + "/" + rel, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && isELF(root + "/" + rel)
        }
    }

    struct Info {
        var needed: [String] = []
        var needs = Set<String>()
        var defines = Set<String>()
    }

    /// `DT_NEEDED` names and needed/defined symbol versions (e.g. "GLIBC_2.14") of each file, from
    /// one `readelf -d -V` run over all of them (one process instead of two per file).
    static func scan(_ paths: [String], shell: Shell) throws(BuildError) -> [String: Info] {
        guard !paths.isEmpty else { return [:] }
        let out = try shell.run("readelf", ["-d", "-V", "-W"] + paths, capture: true)
        var result: [String: Info] = [:]
        // With several files readelf heads each one's output with "File: PATH"; with one it does not.
        var current = paths.count == 1 ? paths[0] : ""
        var section = ""
        for line in out.split(separator: "\n") {
            if line.hasPrefix("File: ") { current = String(line.dropFirst(6)); section = ""; continue }
            if line.hasPrefix("Version needs section") { section = "needs"; continue }
            if line.hasPrefix("Version definition section") { section = "defines"; continue }
            if line.hasPrefix("Version symbols section") || line.hasPrefix("Dynamic section") { section = ""; continue }
            if line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") {
                result[current, default: Info()].needed.append(String(line[line.index(after: open)..<close]))
                continue
            }
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "Name:"), i + 1 < words.count else { continue }
            let name = String(words[i + 1])
            if section == "needs" {
                result[current, default: Info()].needs.insert(name)
            } else if section == "defines" {
                result[current, default: Info()].defines.insert(name)
            }
        }
        for p in paths where result[p] == nil { result[p] = Info() }  // static files: nothing needed
        return result
    }

    /// "GLIBC_2.35" → [2, 35]; nil for other version names (GLIBC_PRIVATE, GCC_3.0, ...).
    static func glibcVersion(_ name: String) -> [Int]? {
        guard name.hasPrefix("GLIBC_") else { return nil }
        let parts = name.dropFirst(6).split(separator: ".").map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    static func newest(_ names: some Sequence<String>) -> String? {
        names.compactMap { n in glibcVersion(n).map { (n, $0) } }
            .max { $0.1.lexicographicallyPrecedes($1.1) }?.0
    }
}
