import BundleFormat

/// Whether a path names a file in a layer's signed file table, followed through the table's
/// symlinks as the kernel follows them in the extracted tree. The launcher asks only when an entry's
/// program is missing from a layer on disk: a program the table does not hold was never there (the
/// bundle is broken, and extracting the layer again would not help), while one the table holds was
/// deleted since (a tmp cleaner), and the layer is extracted again.
///
/// Bounded memory, like every table read: each pass streams the table (`fileTableStream`, digest
/// checked at its end) and keeps only the records of the prefixes of the path still to resolve. A
/// pass resolves up to the next symlink, and at most `maximumLinks` symlinks are followed (as the
/// kernel's ELOOP), so a table is read at most `maximumLinks + 1` times.
extension BundleFile {
    public static let maximumLinks = 40

    /// True when `path` (layer-relative, `/`-separated; `.` and empty components ignored) resolves to
    /// a regular file or a symlink chain ending at one. A directory is no program (as
    /// `CacheRoot.programIsPresent` judges it on disk).
    public func tableHoldsProgram(_ path: [UInt8], in layer: LayerRecord) throws(BundleError) -> Bool {
        var resolved: [[UInt8]] = []
        var remaining = BundleFile.components(path)
        var links = 0
        while !remaining.isEmpty {
            // One pass: the records of every prefix `resolved + remaining[0...k]`.
            var wanted: [[UInt8]] = []
            var prefix = resolved
            for c in remaining {
                if c == [0x2E, 0x2E] { break }  // `..` pops: looked up after this pass
                prefix.append(c)
                wanted.append(BundleFile.join(prefix))
            }
            var found: [[UInt8]: FileRecord] = [:]
            var stream = fileTableStream(of: layer)
            while let r = try stream.next() {
                if wanted.contains(r.path) { found[r.path] = r }
            }

            var followedLink = false
            while !remaining.isEmpty && !followedLink {
                let c = remaining.removeFirst()
                if c == [0x2E, 0x2E] {
                    // The path rules keep link targets inside the layer: `..` at its root would leave it.
                    guard !resolved.isEmpty else { return false }
                    resolved.removeLast()
                    followedLink = true  // the prefixes after `..` were not looked up: next pass
                    continue
                }
                guard let r = found[BundleFile.join(resolved + [c])] else { return false }
                switch r.kind {
                case .directory:
                    resolved.append(c)
                    if remaining.isEmpty { return false }
                case .regular:
                    return remaining.isEmpty
                case .symlink:
                    links += 1
                    guard links <= BundleFile.maximumLinks else { return false }
                    remaining = BundleFile.components(r.linkTarget) + remaining
                    followedLink = true
                }
            }
        }
        return false  // the layer's root itself, a directory
    }

    static func components(_ path: [UInt8]) -> [[UInt8]] {
        path.split(separator: 0x2F, omittingEmptySubsequences: true).map(Array.init).filter { $0 != [0x2E] }
    }

    static func join(_ components: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, c) in components.enumerated() {
            if i > 0 { out.append(0x2F) }
            out += c
        }
        return out
    }
}
