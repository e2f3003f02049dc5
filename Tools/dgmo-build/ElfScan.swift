import Foundation
import BundleBuilder

/// dgmo-build's use of the shared reader (`ElfScan` in BundleBuilder): the ELF files of a staged
/// tree, and a file it cannot read stops the build (the build must know every library it needs).
extension ElfScan {
    /// Every regular ELF file under `root` (relative paths; symlinks are skipped, their targets are scanned).
    static func files(under root: String) -> [String] {
        Files.walk(root).filter { rel in
            var st = stat()
            return lstat(root + "/" + rel, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && isELF(root + "/" + rel)
        }
    }

    /// Each of `paths`' `Info`; fails on the first file that cannot be read.
    static func scanAll(_ paths: [String]) throws(BuildError) -> [String: Info] {
        let (info, damaged) = scan(paths)
        if let (path, e) = damaged.min(by: { $0.key < $1.key }) {
            throw BuildError("cannot read ELF file \(path): \(e)")
        }
        return info
    }
}
