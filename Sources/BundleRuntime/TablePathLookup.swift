import BundleFormat

/// What a path names in a layer's signed file table (`LayerPathResolution`, the resolver the builder
/// uses too). The launcher asks only when an entry's program is missing from a layer on disk: a
/// program the table does not hold was never there (the bundle is broken, and extracting the layer
/// again would not help), while one the table holds was deleted since (a tmp cleaner), and the layer
/// is extracted again.
///
/// Bounded, whatever the table: each ask streams the table once (`fileTableStream`, digest checked
/// at its end) and keeps only the records on the way to one candidate path of at most 4096 bytes, so
/// a lookup reads the table at most `LayerPathResolution.maximumLinks + 1` times.
extension BundleFile {
    public func tableLookup(_ path: [UInt8], in layer: LayerRecord) throws(BundleError) -> LayerPathResolution.Result {
        try LayerPathResolution.resolve(path) { (candidate) throws(BundleError) in
            var found: [FileRecord] = []
            var stream = fileTableStream(of: layer)
            while let r = try stream.next() {
                if LayerPathResolution.isComponentPrefix(r.path, of: candidate) { found.append(r) }
            }
            return found
        }
    }
}
