/// The directories of a byte-sorted path list that may still receive children, in bounded memory.
///
/// In a file table (strictly increasing byte order) everything below a directory `d` is the
/// contiguous run of paths that start with `d/`, but that run need not follow `d` at once:
/// `d-x` and `d.x` sort between `d` and `d/...`. So `d` can still receive children exactly while
/// the current path starts with `d` followed by a byte ≤ `/`. Such directories are all prefixes
/// of the current path, and once one stops qualifying it never does again: a stack of prefix
/// lengths is enough, at most one per byte of a path. The reader uses it to check that every
/// parent was listed earlier, the extractor to apply a directory's mode once its subtree is complete.
public struct OpenDirectories<Payload> {
    /// Prefix lengths of the previous path, strictly increasing, each with its payload.
    public private(set) var entries: [(length: Int, payload: Payload)] = []

    public init() {}

    /// Moves from `previous` to `path`, which sorts after it; returns the directories whose
    /// subtrees are now complete, deepest first (lengths are into `previous`).
    public mutating func advance(from previous: [UInt8], to path: [UInt8]) -> [(length: Int, payload: Payload)] {
        var common = 0
        let limit = min(previous.count, path.count)
        while common < limit, previous[common] == path[common] { common += 1 }
        var closed: [(length: Int, payload: Payload)] = []
        while let last = entries.last, !(last.length <= common && last.length < path.count && path[last.length] <= 0x2F)
        {
            closed.append(entries.removeLast())
        }
        return closed
    }

    /// Every directory still open, deepest first (at the end of the list).
    public mutating func closeAll() -> [(length: Int, payload: Payload)] {
        defer { entries = [] }
        return entries.reversed()
    }

    /// Records `path` (the current one) as a directory.
    public mutating func push(_ path: [UInt8], _ payload: Payload) { entries.append((path.count, payload)) }

    /// True when the current path's prefix of `length` bytes is an open directory.
    public func contains(length: Int) -> Bool {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].length < length { lo = mid + 1 } else { hi = mid }
        }
        return lo < entries.count && entries[lo].length == length
    }
}
