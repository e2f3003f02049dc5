import Foundation
import BundleBuilder
import BundleCrypto
import BundleFormat

/// Compiles the three parts of DGMO into the stage directory, laid out as the bundle holds them.
/// Each layer is one directory under `stage/`; together they form
/// `embedded-resources/{bun-runtime,python-runtime,native,assets}`, `application-code/` and `metadata/`.
struct Compile {
    let source: String
    let stage: String
    let work: String
    let tools: Toolchain
    /// The glibc the linux engine carries; nil for windows-x64 (its C runtime is Windows' own).
    let glibc: BundledGlibc?
    let shell: Shell
    /// The target the runtimes are for. The TypeScript and Go compilers run on this machine for
    /// every target; the Bun binary shipped and the Python engine are the target's own.
    var target: BuildTarget = .linuxX64
    /// The Bun executable that goes into the bundle (the toolchain's own for linux-x64).
    var bunRuntime: String? = nil
    /// linux-arm64: the aarch64 CPython build root the engine is built in, under qemu.
    var arm64Python: Arm64Python? = nil
    /// windows-x64: bun.exe, the embeddable CPython and the engine's wheels.
    var windows: WindowsRuntimes? = nil

    /// A program's file name on the target (`.exe` on Windows).
    func executable(_ name: String) -> String { target.os == .windows ? name + ".exe" : name }

    var appLayer: String { stage + "/app" }
    var bunLayer: String { stage + "/bun" }
    var pythonLayer: String { stage + "/python" }
    var nativeLayer: String { stage + "/native" }

    /// TypeScript → `application-code/cli-entry.js` and `application-code/plugins/<name>.js` (minified,
    /// for Bun), the Bun runtime itself, and the assets `init` uses.
    func typescript() throws(BuildError) {
        try shell.run(
            tools.bun, ["install", "--frozen-lockfile"], cwd: source,
            env: ["BUN_INSTALL_CACHE_DIR": work + "/bun-cache", "DO_NOT_TRACK": "1"])
        let code = appLayer + "/application-code"
        try shell.run(
            tools.bun, ["build", "src/cli/index.ts", "--target=bun", "--minify", "--outfile", code + "/cli-entry.js"],
            cwd: source)
        let plugins = try Files.list(source + "/plugins").filter { Files.exists(source + "/plugins/\($0)/index.ts") }
        guard !plugins.isEmpty else { throw BuildError("\(source)/plugins holds no plugin (plugins/<name>/index.ts)") }
        for name in plugins {
            try shell.run(
                tools.bun,
                [
                    "build", "plugins/\(name)/index.ts", "--target=bun", "--minify", "--outfile",
                    code + "/plugins/\(name).js",
                ], cwd: source)
        }
        try Files.copy(source + "/assets", appLayer + "/embedded-resources/assets")
        try Files.copy(
            windows?.bunExe ?? bunRuntime ?? tools.bun, bunLayer + "/embedded-resources/bun-runtime/" + executable("bun"))
    }

    /// The engine with PyInstaller in onedir mode (onefile would unpack a second time at every
    /// start), stripped, optimize=2, without tkinter and test modules. Reused when nothing it
    /// depends on changed, because it is the slowest step.
    func python(reuse: Bool, say: (String) -> Void) throws(BuildError) {
        let engine = source + "/engine"
        if let windows {
            // No PyInstaller: the embeddable CPython runs the engine package (WindowsRuntimes).
            try windows.layer(
                engine: engine + "/dgm", out: pythonLayer + "/embedded-resources/python-runtime", tools: tools,
                shell: shell)
            say("embeddable CPython \(windows.pythonVersion), the engine and its packages as .pyc")
            return
        }
        guard let glibc else { throw BuildError("\(target.name): the engine needs a carried glibc") }
        let out = work + "/pyinstaller"
        // linux-arm64 runs PyInstaller inside its build root: the paths it is given are the root's.
        let (pyEngine, pyOut) = arm64Python == nil ? (engine, out) : (Arm64Python.engineInRoot, Arm64Python.outInRoot)
        let flags = [
            "--noconfirm", "--clean", "--onedir", "--name", "dgm-engine", "--strip", "--optimize", "2",
            "--exclude-module", "tkinter", "--exclude-module", "_tkinter", "--exclude-module", "unittest",
            "--exclude-module", "test", "--exclude-module", "pydoc_data", "--exclude-module", "lib2to3",
            // The engine opens no network connections and no terminal UI: without these,
            // libssl, libcrypto, readline and ncurses stay out (about 6 MiB).
            "--exclude-module", "ssl", "--exclude-module", "_ssl", "--exclude-module", "_hashlib",
            "--exclude-module", "readline", "--exclude-module", "curses", "--exclude-module", "_curses",
            "--exclude-module", "sqlite3", "--exclude-module", "_sqlite3",
            // Nor does it use the Unicode database, the CJK codecs, ctypes, XML, asyncio or
            // multiprocessing (none is imported by `evolve`, checked with -X importtime):
            // about 2.5 MiB less.
            "--exclude-module", "unicodedata", "--exclude-module", "_multibytecodec",
            "--exclude-module", "_codecs_cn", "--exclude-module", "_codecs_hk", "--exclude-module", "_codecs_iso2022",
            "--exclude-module", "_codecs_jp", "--exclude-module", "_codecs_kr", "--exclude-module", "_codecs_tw",
            "--exclude-module", "ctypes", "--exclude-module", "_ctypes", "--exclude-module", "xml",
            "--exclude-module", "pyexpat", "--exclude-module", "asyncio", "--exclude-module", "_asyncio",
            "--exclude-module", "multiprocessing", "--exclude-module", "_multiprocessing",
            "--paths", pyEngine, "--distpath", pyOut + "/dist", "--workpath", pyOut + "/work", "--specpath", pyOut,
            pyEngine + "/entry.py",
        ]
        // PyInstaller zlib-compresses each module in its PYZ archive; stored uncompressed instead,
        // the layer's own xz compresses them across modules: about 1 MiB smaller in the download.
        let env = ["PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYINSTALLER_ZLIB_COMPRESSION_LEVEL": "0"]
        var inputs =
            (arm64Python.map { "\($0.fingerprint) " } ?? "") + flags.joined(separator: " ")
            + env.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ",")
            + (tools.pins.map { "\($0)=\($1)" }.sorted().joined(separator: ","))
        for f in Files.walk(engine) where !f.contains("__pycache__") {
            inputs += f + ((try? String(contentsOfFile: engine + "/" + f, encoding: .utf8)) ?? "")
        }
        let stampPath = out + "/.dgmo-inputs"
        let stamp = Hex.fingerprint(inputs)
        let built = out + "/dist/dgm-engine"
        if reuse, (try? String(contentsOfFile: stampPath, encoding: .utf8)) == stamp,
            Files.exists(built + "/dgm-engine")
        {
            say("engine unchanged since the last build; reusing \(built)")
        } else {
            try Files.fresh(out)
            if let arm64Python {
                try arm64Python.pyinstaller(
                    flags, env: env, engine: engine, into: out + "/dist/dgm-engine", shell: shell)
            } else {
                try shell.run(tools.pyinstaller, flags, cwd: work, env: env)
            }
            try Files.write(stamp, to: stampPath)
        }
        let staged = pythonLayer + "/embedded-resources/python-runtime/dgm-engine"
        try Files.copy(built, staged)
        // The glibc the engine runs on, beside the libraries PyInstaller collected (BundledGlibc).
        let carried = try glibc.install(tree: staged, into: staged + "/_internal", shell: shell)
        say("carries glibc \(glibc.version): \(carried.joined(separator: ", "))")
    }

    /// The multi-call program windows-x64 ships instead of the separate tools.
    static let multiCall = "dgmo-native"

    /// Each `native/cmd/<name>` (windows-x64: only the multi-call `cmd/dgmo-native`) as a static Go
    /// binary; returns the tools' names (the entries). Standard library only, CGO off, no proxy,
    /// module graph read-only, paths trimmed, symbols stripped, no build id and no VCS stamp
    /// (Go would otherwise embed the commit and whether the tree is dirty: not reproducible).
    func go() throws(BuildError) -> [String] {
        let native = source + "/native"
        _ = try LockCheck.goModule(native)
        // One build cache for every target (Go keys it by content), beside the toolchain: the
        // standard library is compiled once per GOOS/GOARCH, and scripts/go-tests.sh reuses it.
        let goCache = (tools.venv as NSString).deletingLastPathComponent + "/go-cache"
        let env = [
            "GOROOT": tools.goRoot, "CGO_ENABLED": "0", "GOOS": target.os == .windows ? "windows" : "linux",
            "GOARCH": target == .linuxArm64 ? "arm64" : "amd64", "GOPROXY": "off",
            "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local", "GOCACHE": goCache,
            "GOPATH": work + "/go-path", "GOENV": "off", "GOTELEMETRY": "off",
        ]
        try shell.run(tools.go, ["vet", "./..."], cwd: native, env: env)
        let all = try Files.list(native + "/cmd").filter { Files.isDirectory(native + "/cmd/" + $0) }
        let commands = all.filter { $0 != Self.multiCall }
        guard !commands.isEmpty else { throw BuildError("\(native)/cmd holds no Go command") }
        // Windows: one multi-call program (`dgmo-native TOOL ARGS`) instead of one per tool, so the Go
        // runtime ships once: the layer is about 0.4 MB smaller, which keeps the binary under 50 MB.
        // Linux keeps one binary per tool (what its process names, tests and packages know).
        let builds = target.os == .windows ? [Self.multiCall] : commands
        if target.os == .windows, !all.contains(Self.multiCall) {
            throw BuildError("\(native)/cmd/\(Self.multiCall) is missing: windows-x64 ships the tools as that one program")
        }
        for name in builds {
            try shell.run(
                tools.go,
                [
                    "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w -buildid=", "-o",
                    nativeLayer + "/embedded-resources/native/" + executable(name), "./cmd/" + name,
                ], cwd: native, env: env)
        }
        return commands
    }
}
