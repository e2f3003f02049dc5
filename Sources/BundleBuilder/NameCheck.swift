import BundleFormat

/// The name rules that depend on the target (`PathRules`, `EntryRules`), applied when the bundle is
/// assembled: the layers are scanned and the spec is parsed before the target is known, with the
/// base rules every target shares, and these are the rules a Windows target adds, and the case
/// check of Windows and macOS. Each failure is one line naming the layer and path, or the spec's
/// key, and the target.
///
/// The launcher applies the same rules to the signed manifest and to each file table it reads, so
/// a bundle this refuses would be refused there too; the last step here runs the launcher's own
/// table reader over each table, so that the launcher cannot refuse what the builder accepted.
enum NameCheck {
    static func check(_ spec: BundleSpec, layers: [BuiltLayer], records: [LayerRecord], target: BuildTarget)
        throws(BuildError)
    {
        for e in spec.entries {
            let key = "entries.\(e.name)"
            do {
                try EntryRules.check(
                    EntryRecord(
                        name: e.name, isDefault: e.isDefault, argv: e.exec,
                        env: e.env.map { .init(key: $0.key, value: $0.value) }, layers: []),
                    environmentPrefix: spec.environmentPrefix, target: target,
                    fieldName: { field in
                        switch field {
                        case .argv(let i): return "\(key).exec[\(i)]"
                        case .env(let k): return "\(key).env.\(k)"
                        }
                    })
            } catch { throw BuildError("\(spec.keyPrefix)\(error.message) (target \(target.name))") }
        }
        for (layer, record) in zip(layers, records) {
            try checkLayer(layer, target: target)
            // The launcher's reader, with the launcher's verdict (see `CaseFoldedPaths`).
            do { _ = try FileTable.decode(layer.table, layer: record, target: target) } catch {
                throw BuildError(
                    "layer '\(layer.name)': the launcher would refuse this file table for \(target.name): \(error.message)"
                )
            }
        }
    }

    /// Every path and link by `target`'s rules, and (for Windows and macOS) no two paths equal
    /// ignoring case, both named. The scan has applied the base rules already.
    static func checkLayer(_ layer: BuiltLayer, target: BuildTarget) throws(BuildError) {
        guard PathRules.ignoresCase(target) else { return }  // linux: the base rules, checked by the scan
        var folded: [[UInt8]: [UInt8]] = [:]
        for r in layer.records {
            let shown = "layer '\(layer.name)': \(TerminalText.shown(r.path))"
            do {
                try PathRules.check(r.path, for: target)
                if r.kind == .symlink { try PathRules.checkSymlink(path: r.path, target: r.linkTarget, for: target) }
            } catch { throw BuildError("\(shown): \(error.message) (target \(target.name))") }
            let key = r.path.map(PathRules.asciiLowercase)
            if let earlier = folded[key] {
                throw BuildError(
                    "\(shown): equals \(TerminalText.shown(earlier)) ignoring case, and \(target.name)'s volumes do not tell them apart (target \(target.name))"
                )
            }
            folded[key] = r.path
        }
    }
}
