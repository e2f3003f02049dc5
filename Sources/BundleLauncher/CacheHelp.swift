import BundleFormat

/// Help for `<app> --launcher cache [COMMAND] --help`: the cache's part of `--launcher help`,
/// so `cache --help` and `cache list --help` answer (exit 0) instead of failing as unknown options.
enum CacheHelp {
    static let commands: [(name: String, usage: String, what: String)] = [
        ("path", "cache path", "print the cache directory"),
        ("list", "cache list [--json]", "every bundle and layer in the cache: size, last use, users, in use"),
        (
            "verify", "cache verify [--repair] [--json]",
            "re-hash this bundle's extracted files against the signed manifest; --repair re-extracts damaged layers; exit 1 while damage remains"
        ),
        (
            "gc", "cache gc [--older-than 30d] [--keep 1] [--dry-run] [--json]",
            "remove layers that no bundle used within the period needs (keeping the N most recently used bundles of each app); never a layer in use"
        ),
        ("clear", "cache clear [--all] [--json]", "remove this bundle's layers (--all: every layer); never one in use"),
    ]

    /// The help text when `args` (after `cache`) asks for help, else nil.
    static func text(for args: [String]) -> String? {
        let wantsHelp =
            args.containsBytes("--help") || args.containsBytes("-h") || args.first?.bytesEqual("help") == true
        guard args.isEmpty || wantsHelp else { return nil }
        if let sub = args.first, let c = commands.first(where: { $0.name.bytesEqual(sub) }) {
            return "usage: \(programName) --launcher \(c.usage)\n\n  \(c.what)\n"
        }
        if args.isEmpty || wantsHelp {
            var out = "usage: \(programName) --launcher cache COMMAND [OPTIONS]\n\nCommands:\n"
            for c in commands { out += "  \(c.usage)\n      \(c.what)\n" }
            out += "\n'\(programName) --launcher cache COMMAND --help' shows one command.\n"
            return out
        }
        return nil
    }
}
