import Foundation

/// What the dynamic linker needs from an ELF file, read with `readelf` (binutils): the libraries it
/// names (`DT_NEEDED`), the symbol versions it needs from them (`.gnu.version_r`) and the ones it
/// defines itself (`.gnu.version_d`). dgmo-build uses it to decide which C library files the
/// Python layer carries; `bundle-append build` to report the glibc a bundle's layers need
/// (`GlibcFloor`). One reader for both, so the two cannot disagree about a file.
public enum ElfScan {
    /// ELF files are found by their magic bytes, not by name or mode: PyInstaller names
    /// extension modules `*.so` but the bootloader has no suffix.
    public static func isELF(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 4)) == Data([0x7f, 0x45, 0x4c, 0x46])
    }

    public struct Info: Sendable, Equatable {
        public var needed: [String] = []
        public var needs = Set<String>()
        public var defines = Set<String>()
        public init() {}
    }

    /// The arguments that make `readelf` print what `parse` reads, for the files appended to them.
    public static let readelfArguments = ["-d", "-V", "-W"]

    /// Files per `readelf` run: one process for many files, never an argument list near the
    /// system's limit, and enough runs to give every core some (readelf -V spends its time
    /// listing each dynamic symbol's version: 6.2 s for the 945 libraries, 528 MiB, of Debian 12's
    /// /usr/lib/x86_64-linux-gnu, one run after another, measured).
    static let batch = 50

    /// Each file's `Info`; nil when readelf is not installed.
    public static func scan(_ paths: [String]) -> [String: Info]? {
        guard !paths.isEmpty else { return [:] }
        guard let readelf = readelfPath() else { return nil }
        let starts = Array(stride(from: 0, to: paths.count, by: batch))
        let parts = ScanResults(count: starts.count)
        DispatchQueue.concurrentPerform(iterations: starts.count) { i in
            let part = Array(paths[starts[i]..<min(starts[i] + batch, paths.count)])
            // readelf exits non-zero when one file is damaged; the others' output still counts.
            parts.set(i, CommandOutput.output(readelf, readelfArguments + part).map { parse($0.stdout, paths: part) })
        }
        var result: [String: Info] = [:]
        for part in parts.all() {
            guard let part else { return nil }
            result.merge(part) { a, _ in a }
        }
        return result
    }

    /// `readelf` in PATH, or nil.
    static func readelfPath() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = String(dir) + "/readelf"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// `DT_NEEDED` names and needed/defined symbol versions (e.g. "GLIBC_2.14") of each of `paths`,
    /// from the output of one `readelf -d -V -W PATHS...` run over all of them.
    public static func parse(_ out: String, paths: [String]) -> [String: Info] {
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
    public static func glibcVersion(_ name: String) -> [Int]? {
        guard name.hasPrefix("GLIBC_") else { return nil }
        let parts = name.dropFirst(6).split(separator: ".").map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    /// The newest GLIBC_x.y among `names`, or nil when there is none.
    public static func newest(_ names: some Sequence<String>) -> String? {
        names.compactMap { n in glibcVersion(n).map { (n, $0) } }
            .max { $0.1.lexicographicallyPrecedes($1.1) }?.0
    }
}

/// The batches' answers, written from `concurrentPerform`'s threads.
private final class ScanResults: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[String: ElfScan.Info]?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: [String: ElfScan.Info]?) { lock.withLock { items[i] = r } }
    func all() -> [[String: ElfScan.Info]?] { lock.withLock { items } }
}
