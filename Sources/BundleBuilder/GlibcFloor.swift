import Foundation

/// The oldest glibc a linux bundle's layers can run on: the newest `GLIBC_x.y` symbol version
/// any of their ELF files needs (`.gnu.version_r`, read by `ElfScan`). A program linked on a new
/// system needs that system's glibc, and the loader refuses it on an older one
/// ("version `GLIBC_2.34' not found") only when a user runs it; `bundle-append build` says the
/// floor at build time and, with `--min-glibc`, refuses a layer that needs more.
/// Static and musl programs need no glibc symbol versions, and count for nothing here.
public struct GlibcFloor: Sendable, Equatable {
    /// An ELF file that needs a glibc symbol version: `layer/path`, and the newest it needs.
    public struct Need: Sendable, Equatable {
        public var file: String
        public var symbol: String
        public var version: [Int]
    }

    /// Every ELF file that needs a glibc symbol version, newest first (then layer and path order).
    public var needs: [Need]
    /// ELF files scanned.
    public var elfFiles: Int
    /// A file in the layers that defines glibc symbol versions (a glibc the layers carry, as
    /// DGMO's do): programs started through its loader need nothing from the system's glibc.
    public var carriedGlibc: String?
    /// Files that start like ELF but could not be read (`layer/path: why`), counted as needing
    /// nothing: `build` warns about each, since a damaged file may hide a need.
    public var damaged: [String] = []

    /// Reads every ELF file of `layers` (`ElfScan`, built in: no binutils needed).
    public static func measure(_ layers: [LayerFiles]) -> GlibcFloor {
        var shown: [String: String] = [:]  // disk path -> layer/path
        var order: [String] = []
        for l in layers {
            for f in l.files where f.record.kind == .regular {
                guard let source = f.source, ElfScan.isELF(source) else { continue }
                shown[source] = l.layer.name + "/" + f.record.pathString
                order.append(source)
            }
        }
        let (info, damaged) = ElfScan.scan(order)
        var needs: [Need] = []
        var carried: String? = nil
        var carriedIsLibc = false
        for path in order {
            guard let i = info[path] else { continue }
            // Named by its libc.so.6 when it has one (its other libraries define versions too).
            if i.defines.contains(where: { ElfScan.glibcVersion($0) != nil }) {
                let isLibc = (path as NSString).lastPathComponent.hasPrefix("libc.so")
                if carried == nil || (isLibc && !carriedIsLibc) { (carried, carriedIsLibc) = (shown[path], isLibc) }
            }
            if let symbol = ElfScan.newest(i.needs), let v = ElfScan.glibcVersion(symbol) {
                needs.append(Need(file: shown[path]!, symbol: symbol, version: v))
            }
        }
        // Stable: files needing the same version keep the layers' order.
        let sorted = needs.enumerated().sorted { a, b in
            a.element.version == b.element.version
                ? a.offset < b.offset : b.element.version.lexicographicallyPrecedes(a.element.version)
        }.map(\.element)
        return GlibcFloor(
            needs: sorted, elfFiles: order.count, carriedGlibc: carried,
            damaged: order.compactMap { p in damaged[p].map { "\(shown[p]!): \($0)" } })
    }

    /// "2.34", or nil when no file needs glibc.
    public var floor: String? { needs.first.map { GlibcFloor.dotted($0.version) } }

    /// The line `build` prints: `glibc floor: 2.34 (newest symbol GLIBC_2.34 needed by app/x.so)`.
    public var report: String {
        guard let newest = needs.first else {
            return elfFiles == 0
                ? "glibc floor: none (no ELF files in the layers)"
                : "glibc floor: none (no glibc symbols needed by the layers' \(elfFiles) ELF file\(elfFiles == 1 ? "" : "s"))"
        }
        let same = needs.filter { $0.version == newest.version }.count - 1
        var line =
            "glibc floor: \(GlibcFloor.dotted(newest.version)) (newest symbol \(newest.symbol) needed by \(newest.file)\(same > 0 ? " and \(same) more" : ""))"
        if let carriedGlibc {
            line +=
                "; the layers carry a glibc (\(carriedGlibc)): programs started through its loader do not need the system's"
        }
        return line
    }

    /// Throws when a file needs a glibc newer than `minimum` ([2, 17]), naming the one that needs
    /// the newest and its symbol version.
    public func check(minimum: [Int]) throws(BuildError) {
        let over = needs.filter { minimum.lexicographicallyPrecedes($0.version) }
        guard let worst = over.first else { return }
        let min = GlibcFloor.dotted(minimum)
        throw BuildError(
            "\(worst.file) needs \(worst.symbol), newer than --min-glibc \(min)\(over.count > 1 ? " (\(over.count) files need more than \(min))" : ""): build it on a system whose glibc is \(min) or older (for Python wheels, a manylinux tag no newer than that), or raise --min-glibc"
        )
    }

    /// "2.17" → [2, 17]; nil for anything else.
    public static func parseVersion(_ text: String) -> [Int]? {
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        // Digits only: `Int` alone would take `+17`. What is left of nil is an overflow.
        guard pieces.count >= 2, pieces.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) })
        else { return nil }
        let parts = pieces.compactMap { Int($0) }
        return parts.count == pieces.count ? parts : nil
    }

    static func dotted(_ v: [Int]) -> String { v.map(String.init).joined(separator: ".") }
}
