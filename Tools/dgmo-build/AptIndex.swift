import Foundation
import BundleBuilder

/// What apt's package index (the lists `apt-get update` fetched, checked against Debian's signed
/// Release files) says can be downloaded, so that a pin Debian no longer serves fails with the
/// served version, its SHA-256 and the lock update instead of apt-get's "Version ... was not found".
enum AptIndex {
    struct Package: Equatable { var version: String; var sha256: String; var origin = "" }

    /// Every version of `package` (e.g. `libc6:amd64`) that some configured source serves, with
    /// the SHA-256 of its `.deb`, newest first as apt ranks them (the first is apt's candidate).
    /// Installed-only versions (no download, no hash) are left out. nil when apt-cache cannot be
    /// run (not a Debian-like machine): then the download itself reports.
    static func downloadable(_ package: String, shell: Shell) -> [Package]? {
        guard let text = try? shell.run("apt-cache", ["show", package], capture: true) else { return nil }
        var candidate: String?
        if let policy = try? shell.run("apt-cache", ["policy", package], capture: true) {
            candidate = policy.split(separator: "\n").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix("Candidate: ") }.map { String($0.dropFirst("Candidate: ".count)) }
        }
        var served = parse(text)
        if let policy = try? shell.run("apt-cache", ["policy", package], capture: true) {
            for i in served.indices { served[i].origin = origin(of: served[i].version, policy: policy) }
        }
        return served.filter { $0.version == candidate } + served.filter { $0.version != candidate }
    }

    /// Where a version comes from, from `apt-cache policy`'s version table: the first source line
    /// under it, e.g. "http://deb.debian.org/debian bookworm/main" (a Debian pin offered an
    /// Ubuntu libc6 means the build machine is not the Debian the lock was made on).
    static func origin(of version: String, policy: String) -> String {
        let lines = policy.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard
            let at = lines.firstIndex(where: {
                $0 == "*** \(version)" || $0.hasPrefix("*** \(version) ") || $0.hasPrefix("\(version) ")
            })
        else { return "" }
        for line in lines[(at + 1)...] {
            let words = line.split(separator: " ")
            guard words.count >= 3, Int(words[0]) != nil else { break }
            if words[1].contains("://") { return "\(words[1]) \(words[2])" }
        }
        return ""
    }

    /// The `Version:`/`SHA256:` pairs of `apt-cache show` stanzas that have both.
    static func parse(_ text: String) -> [Package] {
        var out: [Package] = []
        for stanza in text.components(separatedBy: "\n\n") {
            var version: String?, sha: String?
            for line in stanza.split(separator: "\n") {
                if line.hasPrefix("Version: ") { version = String(line.dropFirst("Version: ".count)) }
                if line.hasPrefix("SHA256: ") { sha = String(line.dropFirst("SHA256: ".count)) }
            }
            if let version, let sha, sha.count == 64, sha.allSatisfy(\.isHexDigit),
                !out.contains(where: { $0.version == version })
            {
                out.append(Package(version: version, sha256: sha))
            }
        }
        return out
    }

    /// One line: what is pinned, what is served, and the command that rewrites the lock to it.
    static func unservedPinMessage(lock: String, pinned: String, served: [Package], deb: String) -> String {
        let keep =
            "or keep the pin by putting \((deb as NSString).lastPathComponent) (snapshot.debian.org keeps every version) into \((deb as NSString).deletingLastPathComponent)"
        guard let new = served.first else {
            return
                "\(lock) pins libc6 \(pinned), and apt's index lists no downloadable libc6 for amd64 (run 'apt-get update'; scripts/install-deps.sh does), \(keep)"
        }
        let command =
            "sed -i 's/^libc6==[^ ]*/libc6==\(new.version)/; s/--hash=sha256:[0-9a-f]*/--hash=sha256:\(new.sha256)/' \(shellQuoted(lock))"
        return
            "\(lock) pins libc6 \(pinned), which apt's index does not offer (Debian serves one libc6 per suite and drops the previous one at each point release); it offers \(new.version)\(new.origin.isEmpty ? "" : " from " + new.origin) with SHA-256 \(new.sha256) (from apt's signed index). "
            + "To move to it, run: \(command) (then rebuild and run the tests; docs/platforms.md), \(keep)"
    }

    static func shellQuoted(_ s: String) -> String {
        s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+=:,".contains($0) })
            ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
