import Foundation
import BundleBuilder

/// dgmo-build's use of the shared reader (`ElfScan` in BundleBuilder): the ELF files of a staged
/// tree, and readelf run through the build's `Shell`, so it is logged with the other commands and
/// a failure stops the build.
extension ElfScan {
    /// Every regular ELF file under `root` (relative paths; symlinks are skipped, their targets are scanned).
    static func files(under root: String) -> [String] {
        Files.walk(root).filter { rel in
            var st = stat()
            return lstat(root + "/" + rel, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && isELF(root + "/" + rel)
        }
    }

    /// `parse` over one `readelf -d -V -W` run on all of `paths` (one process instead of two per file).
    static func scan(_ paths: [String], shell: Shell) throws(BuildError) -> [String: Info] {
        guard !paths.isEmpty else { return [:] }
        return parse(try shell.run("readelf", readelfArguments + paths, capture: true), paths: paths)
    }
}
