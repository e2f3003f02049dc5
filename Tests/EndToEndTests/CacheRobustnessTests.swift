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

    /// The entry's program is not in its layer (a broken bundle the builder would refuse, signed by
    /// a signer who did not use it): the first launch extracts the layer once and fails with one line
    /// and 125; later launches see that the signed file table has no such file and fail the same way
    /// without extracting the layer again (the published layer keeps its inode).
    func testProgramAbsentAfterAFreshExtractionFailsOnceWithOneLine() throws {
        try Harness.write("#!/bin/sh\necho other\n", to: dir + "/src/other.sh", mode: 0o755)
        try FileManager.default.createSymbolicLink(atPath: dir + "/src/loop", withDestinationPath: "loop")
        try FileManager.default.createSymbolicLink(atPath: dir + "/src/dangling", withDestinationPath: "gone.sh")
        try FileManager.default.createSymbolicLink(atPath: dir + "/src/link.sh", withDestinationPath: "other.sh")
        // A trailing slash asks for a directory: the kernel says ENOTDIR for a file, and so must the
        // table lookup (else the layer would be extracted again at every launch).
        try FileManager.default.createSymbolicLink(atPath: dir + "/src/slash", withDestinationPath: "other.sh/")
        XCTAssertThrowsError(
            try assemble(source: dir + "/src", exec: ["/bin/sh", "{l}/missing.sh"]), "the builder refuses it")
        for (program, shown) in [
            ("{l}/missing.sh", "missing.sh"), ("{l}/dangling", "dangling"), ("{l}/loop", "loop"),
            ("{l}/other.sh/x", "other.sh/x"), ("{l}/slash", "slash"),
        ] {
            try? FileManager.default.removeItem(atPath: dir + "/cache")
            let binary = try assembleUnchecked(source: dir + "/src", exec: ["/bin/sh", program])
            for launch in 0..<3 {
                let started = Date()
                let o = try run(binary)
                XCTAssertLessThan(Date().timeIntervalSince(started), 20)
                XCTAssertEqual(o.status, 125, o.stdout)
                XCTAssertTrue(o.stderr.contains("its program \(shown) is not in layer 'l'"), "\(program): \(o.stderr)")
                XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
                XCTAssertEqual(
                    try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/tmp"), [], "nothing left in tmp/")
                let layers = try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/layers")
                XCTAssertEqual(layers.count, 1, "\(program), launch \(launch)")
                // A file of ours in the published layer: an extraction again would remove it (an
                // inode number would not tell, the filesystem reuses it).
                let sentinel = dir + "/cache/layers/" + layers[0] + "/sentinel"
                if launch == 0 {
                    try Harness.write("", to: sentinel)
                } else {
                    XCTAssertTrue(
                        FileManager.default.fileExists(atPath: sentinel),
                        "\(program), launch \(launch): the layer was extracted again")
                }
            }
        }
        // A program reached through a symlink of the layer is in the table: found, and runs.
        let binary = try assembleUnchecked(source: dir + "/src", exec: ["/bin/sh", "{l}/link.sh"])
        try? FileManager.default.removeItem(atPath: dir + "/cache")
        XCTAssertEqual(try run(binary).stdout, "other\n")
    }

    /// The item the launcher checks may be a directory when it is an interpreter's argument (`ls {l}`,
    /// `python3 {app}`, `{l}/sub`): it runs, and is not taken for a missing program.
    func testADirectoryAsTheCheckedArgumentRuns() throws {
        try Harness.write("x\n", to: dir + "/src/sub/file.txt")
        for exec in [["/bin/ls", "{l}"], ["/bin/ls", "{l}/sub"]] {
            try? FileManager.default.removeItem(atPath: dir + "/cache")
            let binary = try assemble(source: dir + "/src", exec: exec)
            for _ in 0..<2 {
                let o = try run(binary)
                XCTAssertEqual(o.status, 0, "\(exec): \(o.stderr)")
                XCTAssertTrue(o.stdout.contains(exec[1] == "{l}" ? "sub" : "file.txt"), "\(exec): \(o.stdout)")
            }
        }
    }

    /// A hostile table for the lookup: 41 symlinks, each to the next through a 4 KiB path. The
    /// lookup follows at most 40 links and holds one candidate path of at most 4096 bytes per table
    /// read, so the launch fails with one line, quickly.
    func testTheTableLookupIsBoundedOnAHostileChainOfLinks() throws {
        func digest(_ s: String) -> [UInt8] { Blake2b.hash(Array(s.utf8)) }
        let filler = String(repeating: "a/", count: 2000)
        var records: [FileRecord] = []
        for i in 1...41 {
            records.append(
                FileRecord(
                    kind: .symlink, mode: 0o755, size: 0, path: Array("l\(String(format: "%02d", i))".utf8),
                    linkTarget: Array("l\(String(format: "%02d", i + 1))/\(filler)x".utf8)))
        }
        let (layer, record) = try craftLayer(records, data: "")
        let entry = EntryRecord(name: "robust", isDefault: true, argv: ["/bin/sh", "{l}/l01"], env: [], layers: [0])
        let manifest = Manifest(
            appName: "robust", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [record],
            entries: [entry])
        let binary = try writeSignedAsGiven(manifest, layers: [layer], prefix: "chain")
        for _ in 0..<2 {
            let started = Date()
            let o = try run(binary)
            XCTAssertLessThan(Date().timeIntervalSince(started), 20)
            XCTAssertEqual(o.status, 125, o.stdout)
            XCTAssertTrue(o.stderr.contains("its program l01 is not in layer 'l'"), o.stderr)
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        }
    }

    /// Under the user's own file-size limit (`prlimit --fsize`), a layer with a larger file fails the
    /// extraction with one line and 125 (SIGXFSZ is ignored while the launcher extracts), and leaves
    /// nothing in tmp/. The runtime gets SIGXFSZ as the launcher got it (not ignored).
    func testFileSizeLimitIsOneLineAndLeavesNothing() throws {
        try Harness.write("#!/bin/sh\ngrep '^SigIgn' /proc/self/status\n", to: dir + "/src/run.sh", mode: 0o755)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/src/big", contents: Data(count: 32 << 20)))
        let binary = try assemble(source: dir + "/src", exec: ["/bin/sh", "{l}/run.sh"])
        let limited = try Harness.run(
            "/usr/bin/prlimit", ["--fsize=8388608", binary], env: ["ROBUST_CACHE_DIR": dir + "/cache"], timeout: 60)
        XCTAssertEqual(limited.status, 125, limited.stderr)
        XCTAssertEqual(limited.reason, .exit, "not killed by SIGXFSZ")
        XCTAssertEqual(limited.stderr.filter { $0 == "\n" }.count, 1, limited.stderr)
        XCTAssertTrue(limited.stderr.contains("File too large") && limited.stderr.contains("ulimit -f"), limited.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/tmp"), [], "nothing left in tmp/")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/cache/layers"), [])
        // Without the limit it runs, and SIGXFSZ (25: bit 24 of SigIgn) is not ignored in the runtime.
        let o = try run(binary)
        XCTAssertEqual(o.status, 0, o.stderr)
        let mask = UInt64(o.stdout.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16)
        XCTAssertNotNil(mask, o.stdout)
        XCTAssertEqual((mask ?? 0) & (1 << 24), 0, "SIGXFSZ is still ignored in the runtime: \(o.stdout)")
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
