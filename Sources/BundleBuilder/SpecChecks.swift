import Foundation
import BundleFormat

extension BundleSpec {
    /// `hello.toml: `, the start of every message about the spec's keys (docs/spec.md, "Errors");
    /// empty for a spec made in code rather than read from a file.
    public var keyPrefix: String { fileName.isEmpty ? "" : fileName + ": " }
}

/// A layer's files as `TreeScanner` finds them, scanned once before compression for the checks
/// that read them (`LargeFiles`, `SpecChecks.bareProgramNames`, `GlibcFloor`).
public struct LayerFiles: Sendable {
    public var layer: LayerSpec
    public var files: [ScannedFile]

    public static func scan(_ layers: [LayerSpec]) throws(BuildError) -> [LayerFiles] {
        var out: [LayerFiles] = []
        for l in layers {
            out.append(LayerFiles(layer: l, files: try TreeScanner.scan(l.directory, layerName: l.name)))
        }
        return out
    }
}

/// Mistakes a spec can make that build a working-looking bundle: found before anything is
/// compressed, each reported in one line starting with the spec's file and key.
public enum SpecChecks {
    /// One warning per layer that no entry uses (by placeholder or in `layers`): it is stored in
    /// every copy of the bundle and never extracted, and usually means an entry names the wrong
    /// program (a bare name instead of `{layer}/path`).
    public static func unusedLayers(_ spec: BundleSpec) -> [String] {
        let used = Set(spec.entries.flatMap(\.layers))
        return spec.layers.filter { !used.contains($0.name) && !isReadWithoutAnEntry($0) }.map { l in
            "\(spec.keyPrefix)layers.\(l.name): no entry uses this layer, so it is never extracted: add it to an entry's layers (layers = [\"\(l.name)\"]) or use {\(l.name)} in an entry, or remove it"
        }
    }

    /// Layers no entry needs to name: `bundle-metadata` holds the bundle's own description (its
    /// SBOM), which the tools and `--launcher sbom` read from the bundle, not from an extraction.
    static func isReadWithoutAnEntry(_ layer: LayerSpec) -> Bool { layer.name == "bundle-metadata" }

    /// Refuses an entry whose program is a bare name (looked up in PATH when the bundle runs) while
    /// a layer holds a program of that name: the bundle would run whatever the user's PATH finds
    /// (or nothing), never the one it carries. The hint names the layer's file as `{layer}/path`.
    /// Candidates are executable files and symlinks whose last component is the name (for
    /// Windows, also `name.exe`, ignoring case, and any mode: Windows has no execute bit);
    /// the shallowest is named, then by layer and path order.
    public static func bareProgramNames(_ spec: BundleSpec, layers: [LayerFiles], target: BuildTarget)
        throws(BuildError)
    {
        let windows = target.os == .windows
        for e in spec.entries {
            guard let program = e.exec.first, isBareName(program, windows: windows) else { continue }
            var found: [(layer: String, path: String, name: String, depth: Int)] = []
            for l in layers {
                for f in l.files {
                    let r = f.record
                    let runnable =
                        r.kind == .symlink || (r.kind == .regular && (windows || r.mode & 0o111 != 0))
                    guard runnable else { continue }
                    let path = r.pathString
                    let base = (path as NSString).lastPathComponent
                    let matches =
                        windows
                        ? [program.lowercased(), program.lowercased() + ".exe"].contains(base.lowercased())
                        : base == program
                    if matches { found.append((l.layer.name, path, base, path.split(separator: "/").count)) }
                }
            }
            guard let first = found.min(by: { $0.depth < $1.depth }) else { continue }
            let more = found.count - 1
            let shown = TerminalText.shown(program)
            throw BuildError(
                "\(spec.keyPrefix)entries.\(e.name).exec[0]: '\(shown)' is a bare name looked up in PATH at run time, but layer '\(first.layer)' holds \(TerminalText.shown(first.name)) (at \(TerminalText.shown(first.path))\(more > 0 ? "; \(more) more in the layers" : "")): write \"{\(first.layer)}/\(TerminalText.shown(first.path))\" to run it, or an absolute path to run the system's"
            )
        }
    }

    /// A program the launcher finds through PATH: no placeholder, no directory part, not absolute
    /// (`EntryRules` has refused relative paths already).
    static func isBareName(_ program: String, windows: Bool) -> Bool {
        !program.isEmpty && !program.contains("/") && !program.contains("{")
            && !(windows && (program.contains("\\") || program.contains(":")))
    }
}
