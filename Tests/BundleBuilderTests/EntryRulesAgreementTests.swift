import Foundation
import XCTest
import TestSupport
import BundleBuilder
import BundleFormat

/// The builder and the launcher must agree on every entry: a spec `bundle-append build` accepts
/// must never give a bundle the launcher refuses, and the builder must refuse what the launcher
/// would. Random `exec` arrays and `env` tables go through the spec parser (TOML) and, as signed
/// manifest entries would, through the manifest decoder; both answers must match.
final class EntryRulesAgreementTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("agree", subdirectories: ["a", "b"]) }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    func toml(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    func testBuilderAndLauncherAgreeOnRandomEntries() throws {
        var rng = SplitMix64(state: 0xA9EE)
        let tokens = ["{a}", "{b}", "/", "..", ".", "x", "bin", ":", " ", "'", "\"", "{{", "}}", "=", "-"]
        var agreedAccepted = 0, agreedRefused = 0
        for round in 0..<1500 {
            func template() -> String {
                (0..<Int.random(in: 1...6, using: &rng)).map { _ in tokens.randomElement(using: &rng)! }.joined()
            }
            let exec = (0..<Int.random(in: 1...3, using: &rng)).map { _ in template() }
            var env: [(String, String)] = []
            // The launcher's own names (the spec's default env-prefix APP_LAUNCHER), and the app's
            // (APP_ENTRY), which an entry may set.
            for key in ["A", "APP_ENTRY", "APP_LAUNCHER_BUNDLE_X", "APP_LAUNCHER_ENTRY", "Z"]
            where Int.random(in: 0..<4, using: &rng) == 0 {
                env.append((key, template()))
            }
            let spec = """
                [bundle]
                name = "app"
                version = "1"
                [layers.a]
                path = "a"
                [layers.b]
                path = "b"
                [entries.e]
                exec = [\(exec.map(toml).joined(separator: ", "))]
                layers = ["a", "b"]
                \(env.isEmpty ? "" : "env = { " + env.map { "\($0.0) = \(toml($0.1))" }.joined(separator: ", ") + " }")
                """
            let builderAccepts: Bool
            do {
                _ = try BundleSpec.parse(toml: spec, baseDirectory: dir, fileName: "s.toml"); builderAccepts = true
            } catch {
                XCTAssertFalse(error.message.contains("\n"), error.message)
                builderAccepts = false
            }
            let layers = ["a", "b"].enumerated().map { i, n in
                LayerRecord(
                    name: n, codec: .none, offset: 0, compressedSize: 0, uncompressedSize: 0, fileCount: 0,
                    tableOffset: 0, tableLength: 0, digest: [UInt8](repeating: UInt8(i), count: 32), frames: [])
            }
            let sortedEnv = env.sorted { $0.0 < $1.0 }.map { EntryRecord.EnvVar(key: $0.0, value: $0.1) }
            let m = Manifest(
                appName: "app", appVersion: "1", buildTime: 0, keyID: [UInt8](repeating: 0, count: 8), layers: layers,
                entries: [EntryRecord(name: "e", isDefault: true, argv: exec, env: sortedEnv, layers: [0, 1])],
                properties: BundleProperties(
                    environmentPrefix: BundleProperties.defaultEnvironmentPrefix(appName: "app"),
                    cacheName: BundleProperties.defaultCacheName(appName: "app")))
            let launcherAccepts = (try? Manifest(decoding: m.encoded(), layersLength: 0, tablesLength: 0)) != nil
            XCTAssertEqual(builderAccepts, launcherAccepts, "round \(round): exec \(exec) env \(env)")
            if builderAccepts && launcherAccepts {
                agreedAccepted += 1
            } else if !builderAccepts && !launcherAccepts {
                agreedRefused += 1
            }
        }
        XCTAssertGreaterThan(agreedAccepted, 100)
        XCTAssertGreaterThan(agreedRefused, 100)
    }
}
