import Foundation
import BundleFormat

/// `bundle-append build -o PATH` must not destroy its own inputs: PATH naming the spec would
/// overwrite it, and PATH inside a layer directory would put the output (or its temporary file)
/// into the next build's layer. Checked on resolved paths before anything is read or written.
public enum OutputCheck {
    public static func refuseClobbering(output: String, spec: String, layers: [LayerSpec]) throws(BuildError) {
        let out = resolved(output)
        // Both refusals are about the spec (its file, a layer it names): they start with its name.
        let specName = (spec as NSString).lastPathComponent
        if let specPath = realpathString(spec), out == specPath {
            throw BuildError("\(specName): -o \(output) is the spec file itself; choose another output path")
        }
        for layer in layers {
            guard let dir = realpathString(layer.directory) else { continue }
            if out == dir || out.hasPrefix(dir == "/" ? "/" : dir + "/") {
                throw BuildError(
                    "\(specName): layers.\(layer.name).path: -o \(output) is inside layer '\(layer.name)' (\(layer.directory)); the output would be bundled by the next build: write it elsewhere"
                )
            }
        }
    }

    /// The output's absolute path with its directory's symlinks resolved (the file itself may not exist yet).
    public static func resolved(_ path: String) -> String {
        if let r = realpathString(path) { return r }
        let abs = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let dir = PathText.directory(of: abs), name = (abs as NSString).lastPathComponent
        return (realpathString(dir) ?? dir) + (dir == "/" ? "" : "/") + name
    }

    static func realpathString(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

/// Files a packager should think twice about. The format stores every byte of a file (it has no
/// way to say "hole"), and the launcher writes every byte on each user's first run: a sparse
/// 8 GiB disk image with 4 KiB of data costs every user 8 GiB. Files over `limit` are refused
/// unless `--allow-large`; sparse files and large files that are allowed get a warning with their size.
public enum LargeFiles {
    /// Largest file bundled without `--allow-large` (1 GiB).
    public static let limit: UInt64 = 1 << 30
    /// A file counts as sparse when less than half of its size is allocated on disk (and it is
    /// at least 1 MiB: tiny files' allocation is noise).
    static let sparseMinimum: UInt64 = 1 << 20

    /// Warnings to print; throws for a file over the limit without `allowLarge`.
    public static func check(_ layers: [LayerSpec], allowLarge: Bool) throws(BuildError) -> [String] {
        try check(try LayerFiles.scan(layers), allowLarge: allowLarge)
    }

    /// The same, over layers scanned already.
    public static func check(_ scanned: [LayerFiles], allowLarge: Bool) throws(BuildError) -> [String] {
        var warnings: [String] = []
        for (layer, files) in scanned.map({ ($0.layer, $0.files) }) {
            for f in files where f.record.kind == .regular {
                let size = f.record.size
                let shown = "layer '\(layer.name)': \(f.record.pathString)"
                let sparse = size >= sparseMinimum && f.allocated < size / 2
                let sparseNote =
                    sparse
                    ? " (sparse: \(formatBytes(f.allocated)) on disk; the bundle format has no holes, so it is stored and extracted in full)"
                    : ""
                if size > limit {
                    guard allowLarge else {
                        throw BuildError(
                            "\(shown) is \(formatBytes(size))\(sparseNote); every user's first run would write all of it. Files over \(formatBytes(limit)) need --allow-large"
                        )
                    }
                    warnings.append(
                        "\(shown) is \(formatBytes(size))\(sparseNote); every user's first run writes all of it")
                } else if sparse {
                    warnings.append(
                        "\(shown) is \(formatBytes(size))\(sparseNote); every user's first run writes all of it")
                }
            }
        }
        return warnings
    }
}
