import BundleFormat

/// Refuses, at build time, an entry whose program is not in its layer: the launcher would
/// otherwise find nothing to run after extracting (or, with part of a layer missing, extract it
/// again on every launch). The files checked are `EntryRules.programPaths`, exactly those the
/// launcher looks for before a warm launch; symlinks are followed inside the layer's tree.
enum ProgramCheck {
    static func check(_ spec: BundleSpec, layers: [BuiltLayer]) throws(BuildError) {
        var trees: [String: [[UInt8]: FileRecord]] = [:]
        for e in spec.entries {
            let record = EntryRecord(name: e.name, isDefault: e.isDefault, argv: e.exec, env: [], layers: [])
            let paths: [EntryRules.ProgramPath]
            do {
                paths = try EntryRules.programPaths(record, fieldName: { "entries.\(e.name).exec[\(argvIndex($0))]" })
            } catch { throw BuildError(spec.keyPrefix + error.message) }
            for p in paths {
                guard let layer = layers.first(where: { $0.name == p.layer }) else { continue }
                if trees[p.layer] == nil {
                    trees[p.layer] = Dictionary(layer.records.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
                }
                let key = "\(spec.keyPrefix)entries.\(e.name).exec[\(p.argvIndex)]"
                let item = TerminalText.shown(e.exec[p.argvIndex])
                let directory = spec.layers.first { $0.name == p.layer }?.directory ?? p.layer
                let found: Found
                do { found = try resolve(p.path, in: trees[p.layer]!) } catch {
                    throw BuildError("\(key): '\(item)': \(error.message) in layer '\(p.layer)' (\(directory))")
                }
                switch found {
                case .missing:
                    throw BuildError(
                        "\(key): '\(item)' is not in layer '\(p.layer)' (\(directory)): the launcher would have nothing to run"
                    )
                case .directory where p.argvIndex == 0:
                    throw BuildError(
                        "\(key): '\(item)' is a directory in layer '\(p.layer)' (\(directory)), not a program")
                case .file(let mode) where p.argvIndex == 0 && mode & 0o111 == 0:
                    throw BuildError(
                        "\(key): '\(item)' is not executable in layer '\(p.layer)' (\(directory)): chmod +x it")
                default:
                    break
                }
            }
        }
    }

    private static func argvIndex(_ field: EntryRules.Field) -> Int {
        if case .argv(let i) = field { return i }
        return 0
    }

    enum Found: Equatable { case missing, directory, file(mode: UInt32) }

    /// Resolves a layer-relative path the way the kernel would inside the extracted layer, following
    /// symlinks (which the table guarantees stay inside it), at most 40 of them: the launcher's own
    /// resolver (`LayerPathResolution`), over the records in memory.
    static func resolve(_ path: [UInt8], in tree: [[UInt8]: FileRecord]) throws(BuildError) -> Found {
        let result: LayerPathResolution.Result
        do {
            result = try LayerPathResolution.resolve(path) { candidate in
                // The records at each component boundary of the candidate.
                var out: [FileRecord] = []
                for i in candidate.indices where i == candidate.count - 1 || candidate[i + 1] == 0x2F {
                    if let r = tree[Array(candidate[...i])] { out.append(r) }
                }
                return out
            }
        } catch { throw BuildError(error.message) }
        switch result {
        case .missing: return .missing
        case .directory: return .directory
        case .regularFile(let r): return .file(mode: r.mode)
        case .tooManyLinks: throw BuildError("too many levels of symbolic links")
        }
    }
}
