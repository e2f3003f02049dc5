import Foundation
import XCTest
@testable import BundleBuilder
import BundleCodecs
import BundleCrypto
import BundleFormat

/// Ops never trap on out-of-range times, a broken layer is re-extracted at most once, and deep
/// trees are handled under a low descriptor limit. Real bundles (crafted where bundle-append
/// would refuse), real launches.
final class CacheRobustnessTests: SignedAsGivenTestCase {
    /// A signed bundle built with the builder's checks (`BundleAssembler.assemble`): one layer from `source`.
    func assemble(source: String, exec: [String], buildTime: UInt64 = 0) throws -> String {
        let spec = LayerSpec(name: "l", directory: source, codec: .zstd, level: 3)
        let layer = try LayerBuilder.build(spec)
        let bundle = BundleSpec(
            name: "robust", version: "1", layers: [spec],
            entries: [EntrySpec(name: "robust", exec: exec, env: [], layers: ["l"], isDefault: true)])
        let bytes = try BundleAssembler.assemble(
            stub: try Harness.bytes(Harness.stub), spec: bundle, layers: [layer],
            buildTime: buildTime, signing: .key(key))
        let path = dir + "/robust-" + UUID().uuidString
        try Harness.writeBytes(bytes, to: path)
        return path
    }

    /// The same bundle signed with its manifest exactly as given (`BundleAssembler.write`): for
    /// entries `assemble` refuses, such as a program that is not in its layer.
    func assembleUnchecked(source: String, exec: [String]) throws -> String {
        let layer = try LayerBuilder.build(LayerSpec(name: "l", directory: source, codec: .zstd, level: 3))
        let entry = EntryRecord(name: "robust", isDefault: true, argv: exec, env: [], layers: [0])
        let manifest = Manifest(
            appName: "robust", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [layerRecord(layer)],
            entries: [entry])
        return try writeSignedAsGiven(manifest, layers: [layer], prefix: "robust")
    }

    func run(_ binary: String, _ args: [String] = [], cache: String? = nil) throws -> Harness.Output {
        try Harness.run(binary, args, env: ["ROBUST_CACHE_DIR": cache ?? dir + "/cache"], timeout: 60)
    }

    func testInfoAndListNeverTrapOnOutOfRangeTimes() throws {
        try Harness.write("#!/bin/sh\necho ok\n", to: dir + "/src/run.sh", mode: 0o755)
        let binary = try assemble(
            source: dir + "/src", exec: ["/bin/sh", "{l}/run.sh"], buildTime: UInt64(1) << 63 + 5)
        let info = try run(binary, ["--launcher", "info"])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("build time:     (out of range: 9223372036854775813)"), info.stdout)
        XCTAssertEqual(try run(binary).stdout, "ok\n")
        // A bundle record dated before 1970, and one far beyond year 9999.
        let records = try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/bundles")
        XCTAssertEqual(
            try Harness.run("/usr/bin/touch", ["-d", "1960-01-01 00:00:00 UTC", dir + "/cache/bundles/" + records[0]])
                .status, 0)
        let list = try run(binary, ["--launcher", "cache", "list"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("1960-01-01T00:00:00Z"), list.stdout)
        let json = try run(binary, ["--launcher", "cache", "list", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)))
        // Huge --older-than: clamped ("older than anything"), so nothing is removed, no trap.
        let gc = try run(binary, ["--launcher", "cache", "gc", "--older-than", "9223372036854775807w", "--keep", "0"])
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertTrue(gc.stdout.contains("removed 0 layer(s)"), gc.stdout)
        // A record far in the future, then gc with a normal period: still no trap.
        XCTAssertEqual(
            try Harness.run("/usr/bin/touch", ["-d", "@99999999999", dir + "/cache/bundles/" + records[0]]).status, 0)
        XCTAssertEqual(try run(binary, ["--launcher", "cache", "list"]).status, 0)
        XCTAssertEqual(try run(binary, ["--launcher", "cache", "gc", "--older-than", "1s", "--keep", "0"]).status, 0)
    }

    /// The entry's program is not in its layer (a broken bundle the builder would refuse): each
    /// launch extracts at most once, then fails with one line and 125; no loop of re-extraction.
    func testProgramAbsentAfterAFreshExtractionFailsOnceWithOneLine() throws {
        try Harness.write("#!/bin/sh\necho other\n", to: dir + "/src/other.sh", mode: 0o755)
        XCTAssertThrowsError(
            try assemble(source: dir + "/src", exec: ["/bin/sh", "{l}/missing.sh"]), "the builder refuses it")
        let binary = try assembleUnchecked(source: dir + "/src", exec: ["/bin/sh", "{l}/missing.sh"])
        for _ in 0..<2 {
            let started = Date()
            let o = try run(binary)
            XCTAssertLessThan(Date().timeIntervalSince(started), 20)
            XCTAssertEqual(o.status, 125, o.stdout)
            XCTAssertTrue(o.stderr.contains("layer 'l'"), o.stderr)
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/tmp"), [], "nothing left in tmp/")
        }
    }

    /// 2,000 nested directories, a file at the bottom whose path in the layer is 4,008 bytes (so
    /// its absolute path in the cache is longer than PATH_MAX), with 256 descriptors for the
    /// launcher: extract, verify, gc and clear all work, because none holds a descriptor per level
    /// or builds a path. The bundle is assembled from records (no source tree could be that deep).
    func testTreesDeeperThanTheDescriptorLimitAndPathsLongerThanPATH_MAX() throws {
        func digest(_ s: String) -> [UInt8] { Blake2b.hash(Array(s.utf8)) }
        let script = "#!/bin/sh\necho deep\n", bottom = "bottom\n"
        var records: [FileRecord] = []
        var path: [UInt8] = []
        for i in 0..<2000 {
            path += (i == 0 ? [] : [0x2F]) + [0x64]
            records.append(FileRecord(kind: .directory, mode: 0o755, size: 0, path: path))
        }
        records.append(
            FileRecord(
                kind: .regular, mode: 0o644, size: UInt64(bottom.utf8.count), path: path + Array("/file.txt".utf8),
                digest: digest(bottom)))
        records.append(
            FileRecord(
                kind: .regular, mode: 0o755, size: UInt64(script.utf8.count), path: Array("run.sh".utf8),
                digest: digest(script)))
        XCTAssertEqual(records[records.count - 2].path.count, 4008)
        let (layer, _) = try craftLayer(records, data: bottom + script)
        let spec = BundleSpec(
            name: "robust", version: "1", layers: [LayerSpec(name: "l", directory: dir, codec: .zstd, level: 3)],
            entries: [
                EntrySpec(name: "robust", exec: ["/bin/sh", "{l}/run.sh"], env: [], layers: ["l"], isDefault: true)
            ])
        let bytes = try BundleAssembler.assemble(
            stub: try Harness.bytes(Harness.stub), spec: spec, layers: [layer], buildTime: 0, signing: .key(key))
        let binary = dir + "/deep"
        try Harness.writeBytes(bytes, to: binary)
        func limited(_ args: [String]) throws -> Harness.Output {
            try Harness.run(
                "/bin/sh", ["-c", "ulimit -n 256 && exec \"$0\" \"$@\"", binary] + args,
                env: ["ROBUST_CACHE_DIR": dir + "/cache"], timeout: 120)
        }
        let first = try limited([])
        XCTAssertEqual(first.stdout, "deep\n", first.stderr)
        let verify = try limited(["--launcher", "cache", "verify"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.hasSuffix("OK\n"), verify.stdout)
        let clear = try limited(["--launcher", "cache", "clear"])
        XCTAssertEqual(clear.status, 0, clear.stderr)
        XCTAssertTrue(clear.stdout.contains("removed 1 layer(s)"), clear.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/layers"), [])
        XCTAssertEqual(try limited([]).stdout, "deep\n")
        let gc = try limited(["--launcher", "cache", "gc", "--older-than", "0s", "--keep", "0"])
        XCTAssertEqual(gc.status, 0, gc.stderr)
        XCTAssertTrue(gc.stdout.contains("removed 1 layer(s)"), gc.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/tmp"), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/layers"), [])
    }
}
