import Foundation
import BundleBuilder

/// SHA-256 as `sha256sum` prints it (the checksums file is for people and their tools, so it
/// uses the digest they already have; the bundle itself uses BLAKE2b). One call per directory.
enum SHA256Sum {
    /// Lines `<hex>  <prefix><relative path>` for every file under `root`.
    static func lines(root: String, prefix: String, shell: Shell) throws(BuildError) -> [String] {
        let files = Files.walk(root)
        guard !files.isEmpty else { return [] }
        let out = try shell.run("/usr/bin/sha256sum", ["--"] + files, cwd: root, capture: true)
        var lines: [String] = []
        for text in out.split(separator: "\n") {
            guard let line = SHA256SumLine(text) else {
                throw BuildError("sha256sum printed an unexpected line: \(text)")
            }
            lines.append("\(line.digest)  \(prefix)\(line.name)")
        }
        return lines
    }
}
