import BundleFormat

/// What a path names in a layer's signed file table, followed through the table's symlinks as the
/// kernel follows them in the extracted tree. The launcher asks only when an entry's program is
/// missing from a layer on disk: a program the table does not hold was never there (the bundle is
/// broken, and extracting the layer again would not help), while one the table holds was deleted
/// since (a tmp cleaner), and the layer is extracted again.
///
/// Bounded, whatever the table: each pass streams the table once (`fileTableStream`, digest checked
/// at its end) and keeps only the records on the way to one candidate path of at most
/// `Limits.maxPathLength` bytes (no table path is longer), which hold at most one symlink (nothing
/// lies below a symlink in a table). A pass ends at the next symlink, so a lookup reads the table
/// at most `maximumLinks + 1` times, and a link target's leading `..` (the only place the path
/// rules allow one) is applied without a pass.
extension BundleFile {
    /// As the kernel's ELOOP: a lookup that follows more symlinks than this finds nothing.
    public static let maximumLinks = 40

    public enum TableLookup: Equatable, Sendable {
        /// No such path (or one that the kernel could not resolve: a loop, a file used as a directory).
        case missing
        case directory
        case regularFile
    }

    /// What `path` (layer-relative, `/`-separated) resolves to. An empty path, or `.`, is the layer's
    /// root. A trailing `/` (or `/.`) requires a directory, as it does for the kernel (`f/` is
    /// ENOTDIR when `f` is a file); empty components in the middle are ignored.
    public func tableLookup(_ path: [UInt8], in layer: LayerRecord) throws(BundleError) -> TableLookup {
        var resolved: [[UInt8]] = []  // directories from the layer's root, each found in the table
        var pending = Array(BundleFile.components(path).reversed())  // a stack: the next component is last
        var links = 0
        while true {
            // `.` and a leading `..` need no record: `.` stays (what is resolved is a directory), `..`
            // climbs, never above the layer's root (the path rules keep link targets inside it).
            while let c = pending.last, c == BundleFile.dot || c == BundleFile.dotDot {
                pending.removeLast()
                if c == BundleFile.dotDot {
                    guard !resolved.isEmpty else { return .missing }
                    resolved.removeLast()
                }
            }
            if pending.isEmpty { return .directory }

            // One pass: the records that are component prefixes of the candidate.
            var candidate = BundleFile.join(resolved)
            for c in pending.reversed() {
                if c == BundleFile.dot { continue }
                if c == BundleFile.dotDot || candidate.count + 1 + c.count > Limits.maxPathLength { break }
                if !candidate.isEmpty { candidate.append(0x2F) }
                candidate += c
            }
            // (At most one record per component of the candidate: an array, no hashing code in the stub.)
            var found: [FileRecord] = []
            var stream = fileTableStream(of: layer)
            while let r = try stream.next() {
                if BundleFile.isComponentPrefix(r.path, of: candidate) { found.append(r) }
            }

            // Walk as far as this pass's records go: to the end, or to the next symlink.
            var current = BundleFile.join(resolved)
            walk: while let c = pending.last {
                if c == BundleFile.dot {
                    pending.removeLast()
                    continue
                }
                if c == BundleFile.dotDot { break walk }  // (not after a path rule-abiding link)
                pending.removeLast()
                let next = current.isEmpty ? c : current + [0x2F] + c
                guard let r = found.first(where: { $0.path == next }) else { return .missing }
                switch r.kind {
                case .directory:
                    resolved.append(c)
                    current = next
                case .regular:
                    // Anything after a file, even `.` from a trailing slash, is ENOTDIR.
                    return pending.isEmpty ? .regularFile : .missing
                case .symlink:
                    links += 1
                    guard links <= BundleFile.maximumLinks else { return .missing }
                    pending += BundleFile.components(r.linkTarget).reversed()
                    break walk
                }
            }
        }
    }

    static let dot: [UInt8] = [0x2E]
    static let dotDot: [UInt8] = [0x2E, 0x2E]

    /// The components of a path; a trailing `/` becomes a final `.` (the kernel then requires a
    /// directory), other empty components are dropped.
    static func components(_ path: [UInt8]) -> [[UInt8]] {
        var out = path.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init)
        if path.last == 0x2F && !out.isEmpty { out.append(BundleFile.dot) }
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

    /// Whether `prefix` is `path` or a leading run of its components (`a/b` of `a/b/c`, not of `a/bc`).
    static func isComponentPrefix(_ prefix: [UInt8], of path: [UInt8]) -> Bool {
        guard !prefix.isEmpty, prefix.count <= path.count, path.starts(with: prefix) else { return false }
        return prefix.count == path.count || path[prefix.count] == 0x2F
    }
}
