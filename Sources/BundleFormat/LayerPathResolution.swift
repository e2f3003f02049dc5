/// Resolves a layer-relative path through the layer's own symlinks, as the kernel does in the
/// extracted tree: one mechanism for `bundle-append build` (is the entry's program in its layer?)
/// and the launcher (is a program missing on disk also missing from the signed table?), so the two
/// cannot disagree. A trailing `/` (or `/.`) requires a directory (`f/` is ENOTDIR for a file `f`);
/// empty components in the middle are ignored; a leading `..` in a link target climbs (the path
/// rules allow `..` only there, and never above the layer's root).
///
/// The records come from `records(candidate)`: every record of the layer whose path is `candidate`
/// or a leading run of its components (`a`, `a/b` of `a/b/c`). The candidate is at most
/// `Limits.maxPathLength` bytes (no table path is longer), and `records` is asked once, then once
/// more per symlink followed (at most `maximumLinks`): the launcher streams its table once per ask
/// and keeps only those records, whatever the table holds.
public enum LayerPathResolution {
    /// As the kernel's ELOOP.
    public static let maximumLinks = 40

    public enum Result: Equatable, Sendable {
        /// No such path, or one the kernel could not resolve (a file used as a directory).
        case missing
        case directory
        case regularFile(FileRecord)
        /// More than `maximumLinks` symlinks on the way.
        case tooManyLinks
    }

    public static func resolve(
        _ path: [UInt8], records: ([UInt8]) throws(BundleError) -> [FileRecord]
    ) throws(BundleError) -> Result {
        var resolved: [[UInt8]] = []  // directories from the layer's root, each found in the table
        var pending = Array(components(path).reversed())  // a stack: the next component is last
        var links = 0
        while true {
            // `.` and a leading `..` need no record: `.` stays (what is resolved is a directory), `..`
            // climbs, never above the layer's root.
            while let c = pending.last, c == dot || c == dotDot {
                pending.removeLast()
                if c == dotDot {
                    guard !resolved.isEmpty else { return .missing }
                    resolved.removeLast()
                }
            }
            if pending.isEmpty { return .directory }

            // The records on the way to the candidate (at most one per component).
            var candidate = join(resolved)
            for c in pending.reversed() {
                if c == dot { continue }
                if c == dotDot || candidate.count + 1 + c.count > Limits.maxPathLength { break }
                if !candidate.isEmpty { candidate.append(0x2F) }
                candidate += c
            }
            let found = try records(candidate)

            // Walk as far as these records go: to the end, or to the next symlink.
            var current = join(resolved)
            walk: while let c = pending.last {
                if c == dot {
                    pending.removeLast()
                    continue
                }
                if c == dotDot { break walk }  // (not after a path rule-abiding link)
                pending.removeLast()
                let next = current.isEmpty ? c : current + [0x2F] + c
                guard let r = found.first(where: { $0.path == next }) else { return .missing }
                switch r.kind {
                case .directory:
                    resolved.append(c)
                    current = next
                case .regular:
                    // Anything after a file, even `.` from a trailing slash, is ENOTDIR.
                    return pending.isEmpty ? .regularFile(r) : .missing
                case .symlink:
                    links += 1
                    guard links <= maximumLinks else { return .tooManyLinks }
                    pending += components(r.linkTarget).reversed()
                    break walk
                }
            }
        }
    }

    /// Whether `prefix` is `path` or a leading run of its components (`a/b` of `a/b/c`, not of `a/bc`).
    public static func isComponentPrefix(_ prefix: [UInt8], of path: [UInt8]) -> Bool {
        guard !prefix.isEmpty, prefix.count <= path.count, path.starts(with: prefix) else { return false }
        return prefix.count == path.count || path[prefix.count] == 0x2F
    }

    static let dot: [UInt8] = [0x2E]
    static let dotDot: [UInt8] = [0x2E, 0x2E]

    /// The components of a path; a trailing `/` becomes a final `.`, other empty components are dropped.
    static func components(_ path: [UInt8]) -> [[UInt8]] {
        var out = path.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init)
        if path.last == 0x2F && !out.isEmpty { out.append(dot) }
        return out
    }

    static func join(_ components: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for c in components {
            if !out.isEmpty { out.append(0x2F) }
            out += c
        }
        return out
    }
}
