import Foundation
import BundleBuilder
import BundleCrypto
import BundleFormat
import BundleRuntime

enum KeyLoading {
    /// Loads a minisign secret key. An encrypted key's password comes from
    /// `$BUNDLE_APPEND_PASSWORD`, then `--password-file`, then a terminal prompt.
    static func secretKey(path: String, passwordFile: String?) throws -> SecretKey {
        let text = try readText(path, what: "secret key")
        let plain = Result { () throws(CryptoError) in try SecretKey(fileContents: text, password: nil) }
        if case .success(let key) = plain { return key }
        if case .failure(let e) = plain, !e.message.contains("password") { throw ToolFailure("\(path): \(e.message)") }
        let password = try readPassword(path: path, passwordFile: passwordFile)
        switch Result(catching: { () throws(CryptoError) in try SecretKey(fileContents: text, password: password) }) {
        case .success(let key): return key
        case .failure(let e): throw ToolFailure("\(path): \(e.message)")
        }
    }

    private static func readPassword(path: String, passwordFile: String?) throws -> String {
        if let env = ProcessInfo.processInfo.environment["BUNDLE_APPEND_PASSWORD"] { return env }
        if let passwordFile {
            return String(try readText(passwordFile, what: "password file").split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        if isatty(0) == 1, let p = getpass("Password for \(path): ") { return String(cString: p) }
        throw ToolFailure("\(path) is encrypted: set BUNDLE_APPEND_PASSWORD or pass --password-file")
    }
}

enum StubLocation {
    /// `$BUNDLE_APPEND_STUB`, else `dgmo-stub` in the directory of this executable
    /// (SwiftPM puts both products in the same build directory).
    static func `default`() throws -> String {
        if let env = ProcessInfo.processInfo.environment["BUNDLE_APPEND_STUB"], !env.isEmpty { return env }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [me.deletingLastPathComponent().appendingPathComponent("dgmo-stub").path]
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.insert(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("dgmo-stub").path, at: 0)
        }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) { return c }
        throw ToolFailure("cannot find the launcher stub (looked for \(candidates[0])); build it with 'swift build --product dgmo-stub' or pass --stub")
    }
}

/// A one-line progress bar on stderr, only on a terminal, redrawn at most 10 times a second.
final class ProgressBar: @unchecked Sendable {
    private let enabled: Bool
    private let label: String
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(enabled: Bool, label: String) { self.enabled = enabled; self.label = label }

    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        let fraction = total == 0 ? 1 : Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write("\r\(label) [\(bar)] \(Int(fraction * 100))% \(formatBytes(done))/\(formatBytes(total))\u{1B}[K".data(using: .utf8)!)
        drawn = true
    }

    func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
    }
}

func formatBytes(_ n: UInt64) -> String {
    if n < 1024 { return "\(n) B" }
    let units = ["KiB", "MiB", "GiB", "TiB"]
    var v = Double(n) / 1024
    var u = 0
    while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
    return String(format: "%.1f %@", v, units[u])
}

/// What `inspect` prints, as text or JSON.
struct InspectReport {
    struct Layer: Encodable {
        var name: String, digest: String, codec: String, compressedSize: UInt64, size: UInt64, files: Int
        var fileList: [File]?
    }
    struct File: Encodable { var path: String, type: String, mode: String, size: UInt64, digest: String?, target: String? }
    struct Entry: Encodable { var name: String, isDefault: Bool, argv: [String], env: [String: String], layers: [String] }
    struct Report: Encodable {
        var app: String, version: String, formatVersion: UInt32, bundleDigest: String, signed: Bool, keyId: String?
        var launcherKey: String, buildTime: UInt64, stubSize: UInt64, fileSize: UInt64
        var layers: [Layer], entries: [Entry]
    }
    let report: Report

    init(_ bundle: BundleFile, slot: KeySlot?, withFiles: Bool) throws {
        let m = bundle.manifest
        var layers: [Layer] = []
        for l in m.layers {
            var list: [File]? = nil
            if withFiles {
                let table = try wrap { () throws(RuntimeError) in try bundle.fileTable(of: l) }
                let records = try withBytes(table) { (b) throws(FormatError) in try FileTable.decode(b, layer: l) }
                list = records.map(InspectReport.file)
            }
            layers.append(Layer(name: l.name, digest: Hex.encode(l.digest), codec: l.codec.name, compressedSize: l.compressedSize,
                                size: l.uncompressedSize, files: l.fileCount, fileList: list))
        }
        let slotText: String
        switch slot {
        case .pinned(let k)?: slotText = (try? PublicKey(slotBytes: k).keyID.displayString) ?? "damaged"
        case .unsigned?: slotText = "none (unsigned build)"
        case .empty?: slotText = "empty (runs nothing)"
        case nil: slotText = "not found"
        }
        report = Report(app: m.appName, version: m.appVersion, formatVersion: bundle.trailer.version,
                        bundleDigest: Hex.encode(bundle.digest), signed: bundle.isSigned,
                        keyId: bundle.isSigned ? KeyID(bytes: m.keyID)?.displayString : nil, launcherKey: slotText,
                        buildTime: m.buildTime, stubSize: bundle.trailer.stubLength, fileSize: bundle.fileSize, layers: layers,
                        entries: m.entries.map { e in
                            Entry(name: e.name, isDefault: e.isDefault, argv: e.argv,
                                  env: Dictionary(e.env.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
                                  layers: e.layers.map { m.layers[$0].name })
                        })
    }

    static func file(_ r: FileRecord) -> File {
        let types = ["dir", "file", "symlink"]
        let digest: String? = r.kind == .regular ? Hex.encode(r.digest) : nil
        let target: String? = r.kind == .symlink ? String(decoding: r.linkTarget, as: UTF8.self) : nil
        return File(path: r.pathString, type: types[Int(r.kind.rawValue)], mode: String(r.mode, radix: 8),
                    size: r.size, digest: digest, target: target)
    }

    func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(report)) ?? Data(), as: UTF8.self)
    }

    func text() -> String {
        let r = report
        var out = """
        app:            \(r.app) \(r.version)
        format version: \(r.formatVersion)
        bundle digest:  \(r.bundleDigest)
        signed:         \(r.signed ? "yes, key \(r.keyId ?? "?")" : "NO (unsigned)")
        launcher key:   \(r.launcherKey)
        build time:     \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(r.buildTime))))
        size:           \(formatBytes(r.fileSize)) (stub \(formatBytes(r.stubSize)))

        layers:

        """
        for l in r.layers {
            out += "  \(l.name)  \(l.codec)  \(formatBytes(l.compressedSize)) -> \(formatBytes(l.size))  \(l.files) files  \(l.digest)\n"
            for f in l.fileList ?? [] {
                out += "    \(f.type.padding(toLength: 7, withPad: " ", startingAt: 0)) \(f.mode.padding(toLength: 4, withPad: " ", startingAt: 0)) \(String(f.size).padding(toLength: 10, withPad: " ", startingAt: 0)) \(f.path)\(f.target.map { " -> \($0)" } ?? "")\n"
            }
        }
        out += "\nentries:\n"
        for e in r.entries {
            out += "  \(e.name)\(e.isDefault ? " (default)" : "")  layers: \(e.layers.joined(separator: ","))  exec: \(e.argv.joined(separator: " "))\n"
            for (k, v) in e.env.sorted(by: { $0.key < $1.key }) { out += "    env \(k)=\(v)\n" }
        }
        return out
    }
}
