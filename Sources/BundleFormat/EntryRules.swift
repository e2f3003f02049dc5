/// What an entry may ask the launcher to run and set, checked by `bundle-append build` (with the
/// spec's key in the message) and again by every reader of a manifest, the launcher included.
///
/// A correct signature proves who packaged a bundle, not that the packager was careful: a
/// careless or compromised build can still sign an entry that runs `{layer}/../../bin/sh`, a
/// program relative to the user's working directory, or that overrides the variables the
/// launcher sets. One function, used on both sides, so they cannot disagree (docs/format.md,
/// "Entry rules"; docs/security.md, "Signed but hostile manifests").
public enum EntryRules {
    /// Where in an entry a rule is broken.
    public enum Field: Equatable, Sendable, CustomStringConvertible {
        case argv(Int)
        case env(String)

        public var description: String {
            switch self {
            case .argv(let i): return "argv[\(i)]"
            case .env(let key): return "env \(TerminalText.shown(key))"
            }
        }
    }

    /// How a broken rule is reported: `BundleError(.badEntry)` whose message is the field, as
    /// `fieldName` spells it, then the reason: "argv[0]: the program is empty" by default; the builder
    /// names the spec's key instead ("entries.x.exec[0]: ...").
    public typealias FieldName = (Field) -> String

    static func broken(_ field: Field, _ reason: String, _ name: FieldName) -> BundleError {
        BundleError(.badEntry, "\(name(field)): \(reason)")
    }

    /// Bytes that may follow a placeholder besides `/` and the end of the item: list separators
    /// (`{a}/bin:{b}/bin`, `{a},{b}`, `{a} {b}`) and shell quotes (`'{a}'`). Anything else would
    /// name a sibling of the layer's directory (`{a}x`, `{a}..`), not something inside it.
    public static let separators: [UInt8] = [0x3A, 0x3B, 0x2C, 0x20, 0x27, 0x22]  // : ; , space ' "

    /// Checks one entry of a bundle built for `target`, whose launcher variables start with `prefix`. Rules, in order:
    /// 1. the program (`argv[0]`) is `{layer}/path` (a path the layer may hold, `PathRules` for
    ///    `target`), an absolute path, or a bare name looked up in `PATH` (no `/`); never relative
    ///    to the working directory (`bin/sh`, `./x`, `../x`). For Windows an absolute path has a
    ///    drive (`C:\x`, `C:/x`), and a bare name holds no `\` or `:` either (`..\x`, `C:x`
    ///    and `\x` depend on the working directory or the current drive);
    /// 2. in every argv item and env value, placeholders are well-formed layer names, each is
    ///    followed by `/`, a separator or the end, and the path after it has no `..` component
    ///    (for Windows, between `\` as well as `/`), so it stays inside its layer;
    /// 3. for each layer, the first argv item that starts with its placeholder — the file the
    ///    launcher checks before every warm launch — is `{layer}` or `{layer}/path`;
    /// 4. env keys are unique and leave the launcher's own variables alone: `<APP>_ENTRY` and
    ///    every `<APP>_BUNDLE_*`. For Windows, whose environment ignores case, both ignore case.
    public static func check(
        _ e: EntryRecord, environmentPrefix prefix: String, target: BuildTarget = .default,
        fieldName name: FieldName = { $0.description }
    ) throws(BundleError) {
        let windows = PathRules.rulesOS(target) == .windows
        guard let program = e.argv.first else { throw broken(.argv(0), "an entry needs a program", name) }
        try checkProgram(program, target: target, name)
        for (i, item) in e.argv.enumerated() {
            try checkPlaceholderPaths(item, field: .argv(i), target: target, name)
        }
        for v in e.env { try checkPlaceholderPaths(v.value, field: .env(v.key), target: target, name) }
        _ = try programPaths(e, target: target, fieldName: name)
        // Env names are ASCII (`Manifest.isValidEnvName`), so folding A-Z is Windows' whole rule.
        func key(_ s: String) -> [UInt8] { windows ? s.utf8.map(PathRules.asciiLowercase) : Array(s.utf8) }
        let entryKey = key(prefix + "_ENTRY"), bundlePrefix = key(prefix + "_BUNDLE_")
        var seen: [[UInt8]] = []
        for v in e.env {
            let k = key(v.key)
            guard !seen.contains(k) else { throw broken(.env(v.key), "is set twice", name) }
            seen.append(k)
            if k == entryKey || k.starts(with: bundlePrefix) {
                throw broken(
                    .env(v.key),
                    "is the launcher's own variable (\(prefix)_ENTRY and \(prefix)_BUNDLE_* cannot be set by an entry)",
                    name)
            }
        }
    }

    /// A file an entry needs inside one of its layers: the first argv item that starts with the
    /// layer's placeholder (`{native}/hello`, or the script of `/bin/sh {scripts}/run.sh`), as a
    /// layer-relative path (empty for the layer itself). The launcher checks it exists before a
    /// warm launch; the builder checks the layer holds it.
    public struct ProgramPath: Equatable, Sendable {
        public var layer: String
        public var path: [UInt8]
        public var argvIndex: Int
    }

    /// One `ProgramPath` per layer the entry's argv starts an item with, in argv order.
    public static func programPaths(
        _ e: EntryRecord, target: BuildTarget = .default, fieldName name: FieldName = { $0.description }
    ) throws(BundleError) -> [ProgramPath] {
        var out: [ProgramPath] = []
        for (i, item) in e.argv.enumerated() {
            guard let pieces = try? Placeholders.parse(item), case .placeholder(let layer)? = pieces.first,
                !out.contains(where: { $0.layer.bytesEqual(layer) })
            else { continue }
            var path: [UInt8] = []
            if pieces.count > 1 {
                guard pieces.count == 2, case .literal(let rest) = pieces[1], rest.first == 0x2F else {
                    throw broken(
                        .argv(i),
                        "'\(TerminalText.shown(item))' must be {\(layer)} or {\(layer)}/path: the launcher checks that file before it runs the entry",
                        name)
                }
                path = Array(rest.dropFirst())
                do { try PathRules.check(path, for: target) } catch {
                    throw broken(
                        .argv(i), "'\(TerminalText.shown(item))' must name a file inside layer '\(layer)': \(error)",
                        name)
                }
            }
            if i == 0 && path.isEmpty {
                throw broken(.argv(0), "the program cannot be the layer directory {\(layer)} itself", name)
            }
            out.append(ProgramPath(layer: layer, path: path, argvIndex: i))
        }
        return out
    }

    static func checkProgram(_ program: String, target: BuildTarget, _ name: FieldName) throws(BundleError) {
        let windows = PathRules.rulesOS(target) == .windows  // a constant false in a linux launcher
        let pieces: [Placeholders.Piece]
        do { pieces = try Placeholders.parse(program) } catch { throw broken(.argv(0), "malformed placeholder", name) }
        switch pieces.first {
        case nil:
            throw broken(.argv(0), "the program is empty", name)
        case .placeholder?:
            return  // `{layer}/path`: its shape is checked by `programPaths`
        case .literal(let bytes)?:
            guard pieces.count == 1 else {
                throw broken(
                    .argv(0),
                    "program '\(TerminalText.shown(program))' must start with its layer's placeholder ({layer}/path) or use none",
                    name)
            }
            if windows {
                // Absolute: a drive, a colon and a separator. `\x` is relative to the current drive.
                if bytes.count > 2, bytes[0] | 0x20 >= 0x61, bytes[0] | 0x20 <= 0x7A, bytes[1] == 0x3A,
                    bytes[2] == 0x5C || bytes[2] == 0x2F
                {
                    return
                }
            } else if bytes.first == 0x2F {
                return  // absolute
            }
            // Looked up in PATH.
            if !bytes.contains(0x2F) && !(windows && (bytes.contains(0x5C) || bytes.contains(0x3A)))
                && !bytes.elementsEqual([0x2E]) && !bytes.elementsEqual([0x2E, 0x2E])
            {
                return
            }
            throw broken(
                .argv(0),
                "relative program '\(TerminalText.shown(program))' would depend on the working directory"
                    + (windows
                        ? " or drive (use a path with a drive, C:\\..., {layer}/path, or a name looked up in PATH)"
                        : " (use an absolute path, {layer}/path, or a name looked up in PATH)"),
                name)
        }
    }

    /// Rule 2 for one template.
    static func checkPlaceholderPaths(_ template: String, field: Field, target: BuildTarget, _ name: FieldName)
        throws(BundleError)
    {
        let windows = PathRules.rulesOS(target) == .windows  // a constant false in a linux launcher
        let pieces: [Placeholders.Piece]
        do { pieces = try Placeholders.parse(template) } catch {
            throw broken(
                field,
                "'\(TerminalText.shown(template))' has a malformed placeholder (write {layer}; {{ and }} for literal braces)",
                name)
        }
        for (i, piece) in pieces.enumerated() {
            guard case .placeholder(let layer) = piece else { continue }
            guard Names.isValid(layer) else {
                throw broken(
                    field,
                    "'\(TerminalText.shown(template))': {\(TerminalText.shown(layer))} cannot name a layer (write {{ and }} for literal braces)",
                    name)
            }
            guard i + 1 < pieces.count else { continue }
            guard case .literal(let rest) = pieces[i + 1], let first = rest.first,
                first == 0x2F || separators.contains(first)
            else {
                throw broken(
                    field,
                    "'\(TerminalText.shown(template))' leaves layer '\(layer)': {\(layer)} must be followed by '/', one of : ; , space ' \" or the end",
                    name)
            }
            // The path after the placeholder runs to the first separator. On Windows `\` divides
            // it as `/` does: `{a}/x\..\..\y` climbs out.
            var start = 0
            for j in 0...rest.count
            where j == rest.count || rest[j] == 0x2F || (windows && rest[j] == 0x5C) || separators.contains(rest[j]) {
                if j - start == 2 && rest[start] == 0x2E && rest[start + 1] == 0x2E {
                    throw broken(
                        field, "'\(TerminalText.shown(template))' leaves layer '\(layer)': '..' after {\(layer)}", name)
                }
                if j < rest.count && separators.contains(rest[j]) { break }
                start = j + 1
            }
        }
    }
}
