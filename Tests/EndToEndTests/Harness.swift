import Foundation
import XCTest
import BundleFormat
import TestSupport

/// Runs the built products (`bundle-append`, the launcher stub) and bundles made with them.
/// `make test` builds them first (`swift build`); `BUNDLE_BIN_DIR` overrides where they are.
enum Harness {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let binDir: String = {
        if let d = ProcessInfo.processInfo.environment["BUNDLE_BIN_DIR"] { return d }
        return packageRoot.appendingPathComponent(".build/debug").path
    }()

    static var tool: String { binDir + "/bundle-append" }
    /// The debug Embedded stub (`make stubs` / scripts/build-stub.sh --debug).
    /// `BUNDLE_TEST_STUB` overrides it (`make test` runs a subset against the release stub too).
    static var stub: String {
        ProcessInfo.processInfo.environment["BUNDLE_TEST_STUB"] ?? binDir + "/stubs/linux-x64/bundle-stub"
    }

    typealias Output = ProcessOutput

    /// Runs a program with a clean, explicit environment (`PATH`, `HOME` and `env`) and waits for it
    /// (with a timeout).
    @discardableResult
    static func run(
        _ program: String, _ args: [String] = [], env: [String: String] = [:], cwd: String? = nil,
        timeout: TimeInterval = 120, stdin: String? = nil
    ) throws -> Output {
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
        for (k, v) in env { environment[k] = v }
        return try ProcessRunner.run(
            program, args, environment: environment, cwd: cwd, timeout: timeout, stdin: stdin)
    }

    /// Runs `bundle-append` and fails the test if it does not exit 0.
    @discardableResult
    static func tool(_ args: [String], env: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line)
        throws -> Output
    {
        let o = try run(tool, args, env: env)
        XCTAssertEqual(
            o.status, 0, "bundle-append \(args.joined(separator: " ")) failed: \(o.stderr)", file: file, line: line)
        return o
    }

    /// Creates (or truncates) a file, or throws naming it.
    static func createFile(_ path: String, _ contents: Data = Data(), mode: Int = 0o644) throws {
        try ProcessRunner.createFile(path, contents, mode: mode)
    }

    static func makeTempDir() throws -> String { try TempDir.make("e2e") }

    /// Fails the test, and stops it, when the DGMO binary `make test` builds is missing.
    static func requireDGMOBinary(file: StaticString = #filePath, line: UInt = #line) throws {
        try require(
            FileManager.default.isExecutableFile(atPath: DGMOTests.x64Binary),
            "no DGMO binary at \(DGMOTests.x64Binary): run 'make test' (it builds one) or set DGMO_TEST_BINARY",
            file: file, line: line)
    }

    /// A file of a test tree: text (0644), a script (0755), or a copy of an existing file.
    enum TreeFile {
        case text(String)
        case script(String)
        case copy(of: String)
    }

    /// The smallest real app: app `probe` 1.0.0 whose one layer `native` holds the static probe
    /// (`probeTree`), run by its one entry `probe`.
    static let probeSpec = """
        [bundle]
        name = "probe"
        version = "1.0.0"
        [layers.native]
        path = "native"
        [entries.probe]
        exec = ["{native}/probe"]
        default = true
        """

    /// The tree `probeSpec` needs: `native/probe`.
    static func probeTree() throws -> [String: TreeFile] { ["native/probe": .copy(of: try probeBinary())] }

    /// Writes `tree` (paths relative to `dir`) and `spec` (as `dir/spec.toml`), makes the key pair
    /// `dir/<key>.key`/`.pub` unless it exists, and builds the signed bundle `dir/<output>` with the
    /// debug stub: the set-up every end-to-end class needs. Returns the bundle's path.
    @discardableResult
    static func makeBundle(
        spec: String, tree: [String: TreeFile], in dir: String, key: String = "key",
        output: String = "bundle", file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        try writeTree(tree, in: dir)
        try write(spec, to: dir + "/spec.toml")
        if !FileManager.default.fileExists(atPath: dir + "/" + key + ".key") {
            try tool(["keygen", dir + "/" + key], file: file, line: line)
        }
        let binary = dir + "/" + output
        try tool(
            ["build", dir + "/spec.toml", "-o", binary, "--key", dir + "/" + key + ".key", "--stub", stub, "-q"],
            file: file, line: line)
        return binary
    }

    /// Writes `tree`, its paths relative to `dir`, making the directories on the way.
    static func writeTree(_ tree: [String: TreeFile], in dir: String) throws {
        for (path, content) in tree.sorted(by: { $0.key < $1.key }) {
            let full = dir + "/" + path
            switch content {
            case .text(let text): try write(text, to: full)
            case .script(let text): try write(text, to: full, mode: 0o755)
            case .copy(let source):
                try FileManager.default.createDirectory(
                    atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: source, toPath: full)
            }
        }
    }

    struct SetupError: Error, CustomStringConvertible { let description: String }

    /// The static C probe program (Tests/Fixtures/probe.c), compiled once per test run. Without gcc
    /// (or if it fails) each test that needs the probe fails with the reason; the others still run.
    static func probeBinary() throws -> String { try probe.get() }

    private static let probe: Result<String, SetupError> = {
        let dir = NSTemporaryDirectory() + "e2e-probe-" + String(getpid())
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let out = dir + "/probe"
        let src = packageRoot.appendingPathComponent("Tests/Fixtures/probe.c").path
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/gcc") else {
            return .failure(
                SetupError(
                    description:
                        "cannot compile the probe: /usr/bin/gcc is missing (scripts/install-deps.sh installs it)"))
        }
        let r = try? run("/usr/bin/gcc", ["-static", "-O2", "-o", out, src])
        guard let r, r.status == 0 else {
            return .failure(
                SetupError(
                    description: "cannot compile the probe with gcc -static: \(r?.stderr ?? "gcc did not start")"))
        }
        return .success(out)
    }()

    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode_t(mode))
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    /// The trailer of a bundle's bytes (where its stub ends and each region lies). A bundle's stub
    /// is the stripped copy of `stub`, so offsets come from here, not from the stub file's size.
    static func trailer(_ bytes: [UInt8]) throws -> Trailer {
        try bytes.suffix(Trailer.size).withUnsafeBytes { try Trailer(decoding: $0, fileSize: UInt64(bytes.count)) }
    }

    static func writeBytes(_ b: [UInt8], to path: String) throws {
        try Data(b).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)
    }
}
