import Foundation
import BundleBuilder

/// Checks that every input the build downloads or resolves is locked, before anything runs:
/// pip requirements pinned by version and hash, Go modules by go.mod/go.sum with no proxy,
/// and the Bun lockfile matching package.json (there is no npm registry here, so only
/// workspace packages are allowed).
enum LockCheck {
    /// `name==version` lines, each with at least one `--hash=sha256:<64 hex>`.
    static func requirements(_ text: String, file: String) throws(BuildError) -> [(String, String)] {
        try pins(text, file: file).map { ($0.name, $0.version) }
    }

    struct Pin { var name: String; var version: String; var sha256: [String] }

    static func pins(_ text: String, file: String) throws(BuildError) -> [Pin] {
        // Join continuation lines first, as pip does.
        let joined = text.replacingOccurrences(of: "\\\n", with: " ")
        var out: [Pin] = []
        for (n, raw) in joined.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line =
                raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let parts = line.split(separator: " ").map(String.init)
            let req = parts[0]
            let nv = req.components(separatedBy: "==")
            guard nv.count == 2, !nv[0].isEmpty, !nv[1].isEmpty, !req.contains(";"), !req.contains("@") else {
                throw BuildError("\(file): requirement \(n + 1) '\(req)' is not pinned as name==version")
            }
            let hashes = parts.dropFirst().filter { $0.hasPrefix("--hash=sha256:") }
            guard !hashes.isEmpty else { throw BuildError("\(file): \(req) has no --hash=sha256: pin") }
            for h in hashes {
                let hex = h.dropFirst("--hash=sha256:".count)
                guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
                    throw BuildError("\(file): \(req): malformed hash \(h)")
                }
            }
            if let other = parts.dropFirst().first(where: { !$0.hasPrefix("--hash=") }) {
                throw BuildError("\(file): \(req): unexpected option \(other)")
            }
            out.append(
                Pin(
                    name: nv[0].lowercased().replacingOccurrences(of: "_", with: "-"), version: nv[1],
                    sha256: hashes.map { String($0.dropFirst("--hash=sha256:".count)) }))
        }
        guard !out.isEmpty else { throw BuildError("\(file): no requirements") }
        return out
    }

    /// go.mod must name the module and Go version; any `require` needs a go.sum (the build runs
    /// with GOPROXY=off and -mod=readonly, so Go itself refuses anything not already locked).
    static func goModule(_ dir: String) throws(BuildError) -> String {
        let text = try readText(dir + "/go.mod", what: "go.mod")
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let module = lines.first(where: { $0.hasPrefix("module ") })?.dropFirst(7) else {
            throw BuildError("\(dir)/go.mod: no module line")
        }
        guard lines.contains(where: { $0.hasPrefix("go ") }) else {
            throw BuildError("\(dir)/go.mod: no go version line")
        }
        if lines.contains(where: { $0.hasPrefix("require") }) && !Files.exists(dir + "/go.sum") {
            throw BuildError("\(dir)/go.mod requires modules but there is no go.sum to lock them")
        }
        return String(module).trimmingCharacters(in: .whitespaces)
    }

    /// package.json and bun.lock: dependencies must be workspace packages; the lockfile must exist
    /// (bun itself then checks it with `bun install --frozen-lockfile`).
    static func bunProject(_ dir: String) throws(BuildError) -> (name: String, version: String) {
        let path = dir + "/package.json"
        let text = try readText(path, what: "package.json")
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw BuildError("\(path): not a JSON object")
        }
        guard let name = obj["name"] as? String, let version = obj["version"] as? String else {
            throw BuildError("\(path): needs string fields name and version")
        }
        for field in ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] {
            for (dep, spec) in (obj[field] as? [String: Any]) ?? [:] {
                guard let s = spec as? String, s.hasPrefix("workspace:") else {
                    throw BuildError(
                        "\(path): \(field).\(dep) = \(spec): only workspace: packages can be built here (there is no npm registry)"
                    )
                }
            }
        }
        guard Files.exists(dir + "/bun.lock") else {
            throw BuildError("\(dir)/bun.lock is missing (run 'bun install' once and commit it)")
        }
        return (name, version)
    }
}
