import Foundation
import XCTest
@testable import BundleBuilder
import BundleCodecs
import BundleCrypto
import BundleFormat
import TestSupport

/// The bad-input corpus: bundles a buggy or hostile builder could produce, correctly signed
/// with the pinned key, so only the launcher's own re-checks stand between them and the disk.
/// Each must be refused with one line and status 125, in bounded time, writing nothing outside
/// the cache and committing nothing, and never running the payload.
final class HostileInputTests: SignedAsGivenTestCase {
    func digest(_ s: String) -> [UInt8] { Blake2b.hash(Array(s.utf8)) }

    func file(_ path: [UInt8], _ content: String, mode: UInt32 = 0o644) -> FileRecord {
        FileRecord(kind: .regular, mode: mode, size: UInt64(content.utf8.count), path: path, digest: digest(content))
    }

    /// Signs a bundle whose only layer has exactly these records and this data stream.
    func craft(_ records: [FileRecord], data: String, declaredSize: UInt64? = nil, codec: Codec = .zstd) throws
        -> String
    {
        let (layer, record) = try craftLayer(
            records, data: data, codec: codec,
            declaredSize: declaredSize ?? records.reduce(0) { $0 + $1.size })
        // Signed as given: the builder's own checks (ProgramCheck, the manifest decoder) are bypassed.
        let manifest = Manifest(
            appName: "hostile", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: [record],
            entries: [
                EntryRecord(name: "hostile", isDefault: true, argv: ["/bin/sh", "{l}/run.sh"], env: [], layers: [0])
            ])
        return try writeSignedAsGiven(manifest, layers: [layer], prefix: "hostile")
    }

    func assertRefused(_ binary: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cache = dir + "/cache"
        let started = Date()
        // Under /usr/bin/time (which passes the exit status through) for the peak RSS.
        let rssFile = dir + "/rss.txt"
        let o = try Harness.run(
            "/usr/bin/time", ["-f", "%M", "-o", rssFile, binary], env: ["HOSTILE_CACHE_DIR": cache], timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "bounded time", file: file, line: line)
        let rssKiB = (try? String(contentsOfFile: rssFile, encoding: .utf8))?.split(separator: "\n").last.flatMap {
            Int($0)
        }
        XCTAssertLessThan(
            try XCTUnwrap(rssKiB, "peak RSS measured", file: file, line: line), 64 << 10, "bounded memory (KiB)",
            file: file, line: line)
        assertFailed(o, status: 125, mentioning: needle, file: file, line: line)
        XCTAssertFalse(o.stdout.contains("PAYLOAD"), "payload ran", file: file, line: line)
        XCTAssertEqual(
            (try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers")) ?? [], [], file: file, line: line)
        XCTAssertEqual(
            (try? FileManager.default.contentsOfDirectory(atPath: cache + "/tmp")) ?? [], [], file: file, line: line)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir + "/escaped"), "wrote outside the cache", file: file, line: line)
    }

    let run = "echo PAYLOAD\n"

    func testBaselineCraftedBundleRuns() throws {
        let b = try craft([file(Array("run.sh".utf8), run)], data: run)
        let o = try Harness.run(b, [], env: ["HOSTILE_CACHE_DIR": dir + "/cache"])
        XCTAssertEqual(o.stdout, "PAYLOAD\n", o.stderr)
    }

    func testTraversalAndAbsoluteNames() throws {
        for name in ["../escaped", "../../escaped", "/tmp/escaped-abs", "a/../../escaped", "./run.sh", ".dgmo-layer"] {
            let records = [file(Array("run.sh".utf8), run), file(Array(name.utf8), "x")].sorted {
                $0.path.lexicographicallyPrecedes($1.path)
            }
            let data = records.map { $0.path == Array("run.sh".utf8) ? run : "x" }.joined()
            try assertRefused(try craft(records, data: data), "unsafe path")
        }
    }

    func testInvalidUTF8AndNULNames() throws {
        for name: [UInt8] in [[0x61, 0xFF], [0x61, 0x00, 0x62]] {
            let records = [file(name, "x"), file(Array("run.sh".utf8), run)]
            try assertRefused(try craft(records, data: "x" + run), "unsafe path")
        }
    }

    func testEscapingSymlinks() throws {
        for target in ["../escaped", "/etc/passwd", "sub/../../escaped"] {
            let records = [
                FileRecord(
                    kind: .symlink, mode: 0o755, size: 0, path: Array("link".utf8), linkTarget: Array(target.utf8)),
                file(Array("run.sh".utf8), run),
            ]
            try assertRefused(try craft(records, data: run), "symlink")
        }
    }

    /// GNU tar CVE-2025-45582 shape: a symlink to a directory, then a file "through" it.
    func testFileThroughASymlinkIsRefused() throws {
        let records = [
            FileRecord(kind: .symlink, mode: 0o755, size: 0, path: Array("d".utf8), linkTarget: Array("sub".utf8)),
            file(Array("d/x".utf8), "x"), file(Array("run.sh".utf8), run),
            FileRecord(kind: .directory, mode: 0o755, size: 0, path: Array("sub".utf8)),
        ]
        try assertRefused(try craft(records, data: "x" + run), "no parent directory")
    }

    func testDuplicateAndUnorderedNames() throws {
        let dup = [file(Array("run.sh".utf8), run), file(Array("run.sh".utf8), run)]
        try assertRefused(try craft(dup, data: run + run), "duplicate path")
        let unordered = [file(Array("run.sh".utf8), run), file(Array("a".utf8), "x")]
        try assertRefused(try craft(unordered, data: run + "x"), "out of order")
    }

    /// A signed table whose file digest disagrees with the signed data: the launcher checks the
    /// stored frames (their digests in the frame table), not each file, so such a bundle is what
    /// its signer built and the launcher does not catch it (docs/security.md, "Hash once");
    /// `bundle-append verify`, which checks the frames and every file digest, refuses it before
    /// release.
    func testFileDigestDisagreeingWithTheSignedDataIsRefusedByVerify() throws {
        var wrong = file(Array("run.sh".utf8), run)
        wrong.digest = digest("something else")
        let binary = try craft([wrong], data: run)
        try Harness.write(key.publicKey.fileContents, to: dir + "/hostile.pub")
        let o = try Harness.run(Harness.tool, ["verify", binary, "--pubkey", dir + "/hostile.pub"])
        XCTAssertNotEqual(o.status, 0, o.stdout)
        XCTAssertTrue(o.stderr.contains("layer 'l': 'run.sh' does not match its digest"), o.stderr)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        // The same bundle with consistent digests passes.
        let good = try craft([file(Array("run.sh".utf8), run)], data: run)
        XCTAssertEqual(try Harness.run(Harness.tool, ["verify", good, "--pubkey", dir + "/hostile.pub"]).status, 0)
    }

    func testWrongSizes() throws {
        // Stream longer than the files declare (a bomb must not be written past its declared size):
        // the frame table says 13 decoded bytes, the frame's stored bytes decode to 100,013.
        try assertRefused(
            try craft([file(Array("run.sh".utf8), run)], data: run + String(repeating: "A", count: 100_000)),
            "layer 'l' frame 0: zstd: frame decodes to more bytes than declared")
        // Stream shorter than declared: the frame decodes to 4 of the 13 bytes its record says.
        try assertRefused(
            try craft([file(Array("run.sh".utf8), run)], data: "echo"),
            "layer 'l' frame 0: zstd: frame decodes to 4 bytes, not the 13 declared")
        // Declared layer size disagreeing with the files.
        try assertRefused(
            try craft([file(Array("run.sh".utf8), run)], data: run, declaredSize: 5), "more than the declared")
    }

    func testSignedByAnotherKeyAndMissingParents() throws {
        let missingParent = [file(Array("dir/run.sh".utf8), run)]
        try assertRefused(try craft(missingParent, data: run), "no parent directory")
        // The same bytes under a stub pinned to another key.
        let b = try craft([file(Array("run.sh".utf8), run)], data: run)
        key = SecretKey.generate()
        let other = try craft([file(Array("run.sh".utf8), run)], data: run)
        let stubLength = try Harness.bytes(Harness.stub).count
        let mixed = Array(try Harness.bytes(other)[..<stubLength]) + Array(try Harness.bytes(b)[stubLength...])
        let path = dir + "/mixed"
        try Harness.writeBytes(mixed, to: path)
        try assertRefused(path, "not by the trusted key")
    }
}
