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

    static func needed(_ path: String, shell: Shell) throws(BuildError) -> [String] {
        let out = try shell.run("readelf", ["-d", "-W", path], capture: true)
        return out.split(separator: "\n").compactMap { line in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    /// (needed, defined) symbol version names, e.g. (["GLIBC_2.14", ...], ["GLIBC_2.2.5", ...]).
    static func versions(_ path: String, shell: Shell) throws(BuildError) -> (needs: Set<String>, defines: Set<String>) {
        let out = try shell.run("readelf", ["-V", "-W", path], capture: true)
        var needs = Set<String>(), defines = Set<String>()
        var section = ""
        for line in out.split(separator: "\n") {
            if line.hasPrefix("Version needs section") { section = "needs"; continue }
            if line.hasPrefix("Version definition section") { section = "defines"; continue }
            if line.hasPrefix("Version symbols section") { section = ""; continue }
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "Name:"), i + 1 < words.count else { continue }
            let name = String(words[i + 1])
            if section == "needs" { needs.insert(name) } else if section == "defines" { defines.insert(name) }
        }
        return (needs, defines)
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
