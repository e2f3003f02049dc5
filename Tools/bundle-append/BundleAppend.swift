import ArgumentParser
import Foundation
import BundleBuilder
import BundleCrypto
import BundleFormat
import BundleRuntime
import BundleCache
import PackagerOptions

@main
struct BundleAppend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle-append",
        abstract: "Build, sign, inspect, verify and extract single-file bundles.",
        discussion: """
            A bundle is a launcher stub with compressed layers, a manifest and an Ed25519 signature \
            appended. See docs/format.md for the bytes and docs/spec.md for the spec file.

            build looks for the launcher stub in --stub, then (linux-x64) $BUNDLE_APPEND_STUB, then \
            stubs/<target>/ in this tool's directory, its parent (the release archive) and \
            ../lib/bundle-append, with symlinks to the tool resolved.
            """,
        version: "bundle-append \(ToolVersion.text)",
        subcommands: [Keygen.self, Build.self, Sign.self, Inspect.self, Verify.self, Extract.self])
}

/// Prints `bundle-append: <message>` and exits 1: the one-line error for everything but usage.
struct ToolFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a signing key pair: NAME.key (secret, mode 0600) and NAME.pub, in minisign's formats.")

    @Argument(help: "Path prefix of the key files to write.")
    var name: String

    @Flag(help: "Overwrite existing key files.")
    var force = false

    func run() throws {
        let secretPath = name + ".key", publicPath = name + ".pub"
        for p in [secretPath, publicPath] where !force && FileManager.default.fileExists(atPath: p) {
            throw ToolFailure("\(p) already exists (use --force to overwrite)")
        }
        let key = SecretKey.generate()
        try SigningFiles.writeKeyPair(key, secretPath: secretPath, publicPath: publicPath)
        print(
            "wrote \(secretPath) (secret, unencrypted, mode 0600) and \(publicPath); key id \(key.keyID.displayString)")
    }
}

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a signed single-file executable from a bundle spec.",
        discussion: """
            The same inputs give a byte-identical output: the build time is SOURCE_DATE_EPOCH, else the \
            last commit's time of the git repository holding the spec, else the clock. A file over \
            \(formatBytes(LargeFiles.limit)) in a layer is refused without --allow-large (the format has no \
            holes: every user's first run writes its full size); a sparse file is warned about. A layer no \
            entry uses is warned about; an entry whose program is a bare name (looked up in PATH) that a \
            layer also holds is refused, with the {layer}/path to write instead. For linux targets the \
            build reports the glibc floor: the newest GLIBC_x.y symbol version the layers' ELF files \
            need (their .gnu.version_r, read by bundle-append itself: no binutils needed). A per-layer \
            codec choice recorded beside the spec (SPEC.compression.toml for SPEC.toml, written by \
            --choose-compression) is used when it names every layer and neither --compression nor \
            --level is given.
            """)

    @Argument(help: "The bundle spec (TOML); see docs/spec.md.")
    var spec: String

    @Option(name: .shortAndLong, help: "Output executable.")
    var output: String

    @OptionGroup var keyOptions: KeyOptions

    @Flag(help: "Build without a signature. The launcher then says UNSIGNED in --launcher info.")
    var unsigned = false

    @Flag(help: "Also write OUTPUT.minisig (a minisign signature of the whole file) and the public key as OUTPUT.pub.")
    var minisig = false

    @OptionGroup var targetOption: TargetOption

    @OptionGroup var stubOption: StubOption

    @Option(help: "Override every layer's compression: zstd, xz, zlib or none.")
    var compression: String?

    @Option(help: "Override every layer's compression level.")
    var level: Int?

    @Option(
        help: ArgumentHelp(
            "Choose each layer's codec by measured decode time, recorded in FILE.",
            discussion: """
                Each layer is compressed with xz 9 and zstd 22 (with its filter) and decoded here to time it; \
                the smallest output is kept unless a command's cold start (its layers and the default entry's) \
                would decode for longer than --decode-budget. The choice is written to FILE and read from it \
                while it names every layer, so later builds are reproducible (commit FILE; delete it to \
                measure again). Name FILE after the spec (SPEC.compression.toml beside SPEC.toml) and later \
                builds use it without this option.
                """, valueName: "FILE"))
    var chooseCompression: String?

    @Option(help: "With --choose-compression: seconds of decoding allowed per cold command.")
    var decodeBudget = 0.6

    @Flag(
        help: "Bundle files larger than \(formatBytes(LargeFiles.limit)) (each user's first run writes them in full).")
    var allowLarge = false

    @Option(
        help: ArgumentHelp(
            "Refuse a layer whose ELF files need a glibc newer than VERSION (2.17, say).",
            discussion: """
                Linux targets only. The error names the file and the GLIBC_x.y symbol version it needs.
                """, valueName: "VERSION"))
    var minGlibc: String?

    @Flag(
        help: ArgumentHelp(
            "Add no SBOM.",
            discussion: """
                Without it, a bundle none of whose layers holds metadata/sbom.cdx.json gets a layer \
                bundle-metadata with a CycloneDX 1.5 SBOM there (the bundle, its layers, the Python and Node \
                packages they declare), which --launcher sbom prints (docs/spec.md, "SBOM").
                """))
    var noSbom = false

    @Option(help: ArgumentHelp("Also write the SBOM the bundle carries to FILE.", valueName: "FILE"))
    var sbomOut: String?

    @Flag(name: .shortAndLong, help: "Print nothing but errors and warnings.")
    var quiet = false

    func validate() throws {
        if noSbom && sbomOut != nil {
            throw ValidationError("--sbom-out writes the SBOM the build adds: drop --no-sbom")
        }
        if let sbomOut,
            URL(fileURLWithPath: sbomOut).standardizedFileURL.path
                == URL(fileURLWithPath: output).standardizedFileURL.path
        {
            throw ValidationError(
                "--sbom-out \(sbomOut) is the output itself: name another file (like \(output).cdx.json)")
        }
        if keyOptions.key == nil && !unsigned {
            throw ValidationError("pass --key KEY to sign the bundle, or --unsigned to build it without a signature")
        }
        if keyOptions.key != nil && unsigned { throw ValidationError("--key and --unsigned exclude each other") }
        if minisig && unsigned {
            throw ValidationError("--minisig needs --key: an unsigned bundle has no signature to write")
        }
        if chooseCompression != nil && (compression != nil || level != nil) {
            throw ValidationError("--choose-compression picks codecs and levels itself: drop --compression and --level")
        }
        if let compression, Codec(name: compression) == nil {
            throw ValidationError("--compression must be zstd, xz, zlib or none, not '\(compression)'")
        }
        if let minGlibc {
            guard GlibcFloor.parseVersion(minGlibc) != nil else {
                throw ValidationError("--min-glibc must be a glibc version such as 2.17, not '\(minGlibc)'")
            }
            guard targetOption.buildTarget.os == .linux else {
                throw ValidationError("--min-glibc is for linux targets: \(targetOption.target) programs use no glibc")
            }
        }
    }

    func run() throws {
        // Every time printed is measured from here: the whole build, whatever it spent its time on.
        let started = Date()
        let target = targetOption.buildTarget
        let say: (String) -> Void = { line in if !quiet { FileHandle.standardError.write(Data("\(line)\n".utf8)) } }
        let warn: (String) -> Void = { FileHandle.standardError.write(Data("bundle-append: warning: \($0)\n".utf8)) }
        var parsed = try BundleSpec.load(path: spec)
        if let compression, let codec = Codec(name: compression) {
            parsed = parsed.withCompression(codec, level: level)
        } else if let level {
            for codec in Set(parsed.layers.map(\.codec)) where codec.levelRange.map({ !$0.contains(level) }) ?? true {
                throw ToolFailure("--level \(level) is not valid for \(codec.name) layers")
            }
            parsed.layers = parsed.layers.map {
                var l = $0; l.level = level; return l
            }
        }
        // Before anything is read or written: the output must not overwrite the spec or land in a layer.
        try OutputCheck.refuseClobbering(output: output, spec: spec, layers: parsed.layers)
        let scanned = try LayerFiles.scan(parsed.layers)
        for w in try LargeFiles.check(scanned, allowLarge: allowLarge) + SpecChecks.unusedLayers(parsed) { warn(w) }
        try SpecChecks.bareProgramNames(parsed, layers: scanned, target: target)
        let glibc = target.os == .linux ? try glibcFloor(scanned, warn: warn) : nil
        let specDir = PathText.directory(of: spec)
        let buildTime = try BuildTime.resolve(inputsIn: specDir.isEmpty ? "." : specDir).time
        let signing: Signing = try keyOptions.secretKey().map { .key($0) } ?? .unsigned
        let stubPath = try stubOption.path(for: target)
        let detached =
            minisig
            ? BundleBuild.DetachedSignature(
                trustedComment:
                    "timestamp:\(buildTime)\tfile:\((output as NSString).lastPathComponent)\tapp:\(parsed.name)\tversion:\(parsed.version)",
                publicKeyPath: output + ".pub") : nil
        var layers: BundleBuild.Layers? = nil
        var measuring: TimeInterval = 0
        let conventional = CompressionChoice.recordPath(forSpec: spec)
        if let record = chooseCompression {
            let t0 = Date()
            layers = try CompressionChoice.layers(
                for: parsed, recorded: try CompressionChoice.load(record, layers: parsed.layers), record: record,
                budget: decodeBudget,
                header:
                    "# Per-layer codecs chosen by `bundle-append build --choose-compression` (decode time measured).\n",
                say: say)
            if case .built? = layers {
                measuring = Date().timeIntervalSince(t0)
                if OutputCheck.resolved(record) != OutputCheck.resolved(conventional) {
                    say(
                        "a build without --choose-compression reads only \(conventional): pass --choose-compression \(record) again to use this record, or name it so"
                    )
                }
            } else {
                say("compression: per-layer codecs recorded in \(record) (delete it to measure again)")
            }
        } else if compression == nil && level == nil && FileManager.default.fileExists(atPath: conventional) {
            // A committed record beside the spec is used without a flag (docs/spec.md).
            if let recorded = try CompressionChoice.load(conventional, layers: parsed.layers) {
                layers = .compress(recorded)
                say(
                    "compression: per-layer codecs recorded in \(conventional) (--compression overrides it; delete it or pass --choose-compression \(conventional) to measure again)"
                )
            } else {
                warn(
                    "\(conventional) names no codec for some layer: built with the spec's compression; pass --choose-compression \(conventional) to measure again"
                )
            }
        }
        let bar = ProgressBar(enabled: !quiet && isatty(2) == 1, label: "compressing layers")
        let result = try BundleBuild(
            spec: parsed, stub: .path(stubPath), outputPath: output, signing: signing, target: target,
            buildTime: buildTime, layers: layers, detachedSignature: detached, addSBOM: !noSbom,
            progress: { done, total in bar.update(done, total) }
        ).run()
        bar.finish()
        if let sbomOut {
            // With SBOMs on there is always one: the build's, or the one a layer carries.
            guard let sbom = result.sbom else { throw ToolFailure("--sbom-out: the bundle carries no SBOM") }
            try BundleBuild.writeAtomically(sbom.document, to: sbomOut, mode: 0o644)
        }
        if !quiet {
            let secs = Date().timeIntervalSince(started)
            print(
                "built \(output): \(parsed.name) \(parsed.version) for \(target.name), \(formatBytes(UInt64(result.size))), \(result.layers.count) layer(s), "
                    + (unsigned ? "UNSIGNED" : "signed by key \(signing.keyIDText)")
                    + String(format: " in %.1f s", secs)
                    + (measuring > 0 ? String(format: " (%.1f s of it choosing codecs)", measuring) : ""))
            for l in result.layers {
                let ratio = l.uncompressedSize == 0 ? 0 : Double(l.compressed.count) / Double(l.uncompressedSize) * 100
                print(
                    "  \(l.name): \(l.records.count) files, \(formatBytes(l.uncompressedSize)) -> \(formatBytes(UInt64(l.compressed.count))) \(l.codec.name)\(l.filter == .none ? "" : "+" + l.filter.name) (\(String(format: "%.0f", ratio))%)"
                )
            }
            if let glibc { print(glibc.report) }
            if let sbom = result.sbom {
                print(
                    sbom.generated
                        ? "  SBOM: generated in layer \(sbom.layer) (metadata/sbom.cdx.json)\(sbomOut.map { ", written to \($0)" } ?? "")"
                        : "  SBOM: layer \(sbom.layer) carries metadata/sbom.cdx.json (none generated)\(sbomOut.map { ", written to \($0)" } ?? "")"
                )
            }
        }
    }

    /// The layers' glibc floor (`GlibcFloor`), checked against `--min-glibc`; an ELF file that
    /// cannot be read is warned about (it counts as needing nothing).
    func glibcFloor(_ scanned: [LayerFiles], warn: (String) -> Void) throws -> GlibcFloor {
        let floor = GlibcFloor.measure(scanned)
        for d in floor.damaged { warn("glibc floor: cannot read ELF file \(d); it counts as needing no glibc") }
        if let minGlibc, let minimum = GlibcFloor.parseVersion(minGlibc) { try floor.check(minimum: minimum) }
        return floor
    }
}

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write FILE.minisig, a minisign signature that `minisign -Vm FILE -p KEY.pub` accepts.",
        discussion: "When FILE is a bundle, the trusted comment carries its app, version and bundle digest.")

    @Argument(help: "The file to sign (a bundle, an archive, anything).")
    var file: String

    @OptionGroup var keyOptions: KeyOptions

    @Option(name: .shortAndLong, help: "Signature file to write (default: FILE.minisig).")
    var output: String?

    func validate() throws {
        if keyOptions.key == nil { throw ValidationError("pass --key KEY: the secret key to sign with") }
    }

    func run() throws {
        guard let secret = try keyOptions.secretKey() else {
            throw ValidationError("pass --key KEY: the secret key to sign with")
        }
        let out = output ?? file + ".minisig"
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped) } catch {
            throw ToolFailure("cannot read \(file): \(errorText(error))")
        }
        let name = (file as NSString).lastPathComponent
        let dir = PathText.directory(of: file)
        var comment = "timestamp:\(try BuildTime.resolve(inputsIn: dir.isEmpty ? "." : dir).time)\tfile:\(name)"
        if let bundle = try? BundleFile(path: file, trust: .inspectOnly) {
            comment +=
                "\tapp:\(bundle.manifest.appName)\tversion:\(bundle.manifest.appVersion)\tbundle:\(Hex.encode(bundle.digest))"
        }
        let sig = data.withUnsafeBytes { MinisignSignature.create(for: $0, key: secret, trustedComment: comment) }
        try SigningFiles.writeSignature(sig, to: out)
        print("wrote \(out) (key \(secret.keyID.displayString)): \(comment.replacingOccurrences(of: "\t", with: " "))")
    }
}

enum MinisignCheck {
    static func verify(file: String, signature: String, pubkey: String) throws {
        do {
            let key = try KeyLoading.publicKey(path: pubkey)
            let sig = try MinisignSignature(fileContents: try readText(signature, what: "signature"))
            let data = try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
            try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws in try sig.verify(file: b, publicKey: key) }
            print("\(file): signature OK (key \(key.keyID.displayString)); trusted comment: \(sig.trustedComment)")
        } catch let e as BundleError {
            throw ToolFailure("\(file): \(e.message)")
        } catch let e as ToolFailure {
            throw e
        } catch let e as BuildError {
            throw e  // already names its file (the key, the signature)
        } catch {
            throw ToolFailure("\(file): \(errorText(error))")
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a bundle holds (does not check the signature; use verify).")

    @Argument(help: "The bundle executable.")
    var binary: String

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "List every file of every layer.")
    var files = false

    func run() throws {
        let bundle = try openBundle(binary, trust: .inspectOnly)
        let slot = try? bundle.readKeySlot()
        let report = try InspectReport(bundle, slot: slot, withFiles: files)
        print(json ? report.json() : report.text())
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a bundle: trailer, manifest, signature against a public key, every layer and file digest.")

    @Argument(help: "The bundle executable (or, with --signature, any file).")
    var binary: String

    @Option(help: "Public key file (minisign format) the bundle must be signed with.")
    var pubkey: String?

    @Flag(help: "Accept an unsigned bundle (still checks every digest).")
    var allowUnsigned = false

    @Option(help: "A minisign signature file (.minisig) to check FILE against instead: works for any file.")
    var signature: String?

    func validate() throws {
        if pubkey == nil && !allowUnsigned {
            throw ValidationError("pass --pubkey KEY.pub (or --allow-unsigned to check an unsigned bundle's digests)")
        }
        if signature != nil && pubkey == nil { throw ValidationError("--signature needs --pubkey") }
    }

    func run() throws {
        if let signature, let pubkey {
            try MinisignCheck.verify(file: binary, signature: signature, pubkey: pubkey)
            return
        }
        let trust: Trust
        if let pubkey {
            trust = .key(try KeyLoading.publicKey(path: pubkey))
        } else {
            trust = .unsignedOnly
        }
        let bundle = try openBundle(binary, trust: trust)
        // The stub's pinned key must be the same key: otherwise the binary would refuse to run.
        let slot = try wrap { () throws(BundleError) in try bundle.readKeySlot() }
        switch (slot, trust) {
        case (.pinned(let k), .key(let expected)) where k != expected.slotBytes:
            throw ToolFailure("\(binary): the launcher's pinned key differs from \(pubkey ?? "")")
        case (.empty, _):
            throw ToolFailure("\(binary): the launcher holds no key and will run nothing")
        default: break
        }
        // The launcher must be a program for the manifest's target (the builder checked it; a
        // stub swapped afterwards would not run where the bundle is meant to).
        let file = FileHandle(forReadingAtPath: binary)
        let head = Array((try? file?.read(upToCount: ExecutableIdentity.prefixLength)) ?? nil ?? Data())
        try? file?.close()
        let target = bundle.manifest.target
        let identity = ExecutableIdentity(prefix: head)
        guard let identity, identity.runs(on: target) else {
            let what = identity.map(\.description) ?? "not a program (no ELF, PE or Mach-O header)"
            throw ToolFailure(
                "\(binary): the launcher is \(what), but the bundle's target is \(target.name) (\(target.programDescription))"
            )
        }
        for layer in bundle.manifest.layers {
            try wrap { () throws(BundleError) in try LayerExtractor.verify(bundle, layer: layer) }
        }
        let files = bundle.manifest.layers.reduce(0) { $0 + $1.fileCount }
        print(
            "\(binary): OK — \(bundle.manifest.appName) \(bundle.manifest.appVersion) for \(target.name), "
                + (bundle.isSigned
                    ? "signed by key \(KeyID(bytes: bundle.manifest.keyID)?.displayString ?? "?")" : "UNSIGNED")
                + ", \(bundle.manifest.layers.count) layer(s), \(files) file(s) verified")
    }
}

struct Extract: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every layer of a bundle into DIR/<layer>/, each frame checked against its signed digest.",
        discussion: """
            Each layer appears under its name only after every frame of it matched its digest. \
            Does not check the signature: run verify for that. DIR must not exist (its parent must) or be an \
            empty directory of yours that others cannot write to; a symlink is refused. The launcher's \
            --launcher extract DIR is the same code.
            """)

    @Argument(help: "The bundle executable.")
    var binary: String

    @Argument(help: "Directory to create.")
    var dir: String

    func run() throws {
        let bundle = try openBundle(binary, trust: .inspectOnly)
        try wrap { () throws(BundleError) in
            try DirectoryExtraction.extractAll(bundle, to: dir) { layer in
                print("\(dir)/\(layer.name): \(layer.fileCount) files, \(formatBytes(layer.uncompressedSize))")
            }
        }
    }
}

func openBundle(_ path: String, trust: Trust) throws -> BundleFile {
    do { return try BundleFile(path: path, trust: trust) } catch { throw ToolFailure("\(path): \(error.message)") }
}

func wrap<T>(_ body: () throws(BundleError) -> T) throws -> T {
    do { return try body() } catch { throw ToolFailure(error.message) }
}

extension Signing {
    var keyIDText: String {
        switch self {
        case .key(let k): return k.keyID.displayString
        case .unsigned: return "none"
        }
    }
}
