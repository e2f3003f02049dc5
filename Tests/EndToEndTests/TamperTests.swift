import Foundation
import XCTest
import BundleFormat
import BundleCrypto

/// A binary changed anywhere that matters is refused — one line, status 125 — before the
/// payload runs; a bundle signed by another key or unsigned under a pinned key is refused too.
final class TamperTests: XCTestCase {
    var dir = ""
    var binary = ""
    var touched = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        touched = dir + "/payload-ran"
        try Harness.tool(["keygen", dir + "/b"])
        binary = try Harness.makeBundle(
            spec: Harness.probeSpec,
            tree: try Harness.probeTree().merging([
                "native/sub/data.txt": .text(String(repeating: "some data to compress ", count: 5000))
            ]) { a, _ in a }, in: dir, key: "a", output: "bin-a")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs `bytes` as a binary on an empty cache and expects a refusal naming `expect`.
    /// `published`: cache names of layers that may be published before the refusal (layers the
    /// entry extracts before the tampered one).
    func assertRefused(
        _ bytes: [UInt8], _ expect: [String], published: Set<String> = [],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = dir + "/tampered-" + UUID().uuidString
        try Harness.writeBytes(bytes, to: path)
        let cache = dir + "/cache-" + UUID().uuidString
        let o = try Harness.run(path, ["arg"], env: ["PROBE_LAUNCHER_CACHE_DIR": cache, "PROBE_TOUCH": touched])
        XCTAssertEqual(
            o.status, 125, "expected refusal, got \(o.status): \(o.stdout) \(o.stderr)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: touched), "the payload ran", file: file, line: line)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, "one line: \(o.stderr)", file: file, line: line)
        XCTAssertTrue(
            expect.contains { o.stderr.contains($0) }, "message should mention one of \(expect): \(o.stderr)",
            file: file, line: line)
        XCTAssertTrue(o.stderr.hasPrefix((path as NSString).lastPathComponent + ": "), o.stderr, file: file, line: line)
        // Nothing was published in the cache.
        let layers = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers")) ?? []
        XCTAssertTrue(Set(layers).isSubset(of: published), "a layer was committed: \(layers)", file: file, line: line)
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/tmp")) ?? []
        XCTAssertEqual(tmp, [], "temporary files were left behind", file: file, line: line)
    }

    func testUntouchedBinaryRuns() throws {
        let o = try Harness.run(binary, [], env: ["PROBE_LAUNCHER_CACHE_DIR": dir + "/cache", "PROBE_TOUCH": touched])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: touched))
    }

    /// Flips `mask` at each offset (one copy of the binary per offset; offsets from its trailer)
    /// and expects every copy refused naming one of `expect`.
    func assertFlipsRefused(
        mask: UInt8 = 0x01, _ expect: [String], at offsets: (Trailer) -> [UInt64],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let b = try Harness.bytes(binary)
        for offset in offsets(try Harness.trailer(b)) {
            var x = b
            x[Int(offset)] ^= mask
            try assertRefused(x, expect, file: file, line: line)
        }
    }

    /// The manifest of the bundle `b`, and the message the launcher gives for a byte changed at
    /// `offset` in its layers region: the frame holding it does not match its digest.
    func frameMessage(_ b: [UInt8], at offset: UInt64) throws -> String {
        let t = try Harness.trailer(b)
        let manifest = try Manifest(
            decoding: Array(b[Int(t.header.lowerBound)..<Int(t.header.upperBound)]),
            layersLength: UInt64(t.layers.count), tablesLength: UInt64(t.tables.count))
        let at = offset - t.layers.lowerBound
        let layer = try XCTUnwrap(manifest.layers.first { at >= $0.offset && at < $0.offset + $0.compressedSize })
        let k = try XCTUnwrap(
            layer.frames.firstIndex {
                at - layer.offset >= $0.storedOffset && at - layer.offset < $0.storedOffset + $0.storedSize
            })
        return "layer '\(layer.name)': frame \(k) does not match its digest"
    }

    func testFlippedByteInLayerData() throws {
        let b = try Harness.bytes(binary)
        let t = try Harness.trailer(b)
        // The entry's layer; the generated SBOM's layer after it is never read by a launch
        // (MetadataTests flips a byte there).
        let manifest = try Manifest(
            decoding: Array(b[Int(t.header.lowerBound)..<Int(t.header.upperBound)]),
            layersLength: UInt64(t.layers.count), tablesLength: UInt64(t.tables.count))
        let native = try XCTUnwrap(manifest.layers.first { $0.name == "native" })
        let end = t.layers.lowerBound + native.offset + native.compressedSize
        for offset in [t.layers.lowerBound + 20, (t.layers.lowerBound + end) / 2, end - 10] {
            var x = b
            x[Int(offset)] ^= 0x40
            try assertRefused(x, [try frameMessage(b, at: offset)])
        }
    }

    /// Hash once: the launcher checks each stored frame against its signed digest (format
    /// version 3's frame table) before decoding it, instead of hashing every extracted file. A
    /// flipped byte in any layer, in any encoding, is refused before anything runs or is
    /// published, even where the decoder cannot notice it (no compression) or the byte is in the
    /// last file of the stream.
    func testFlippedByteInAnyLayerOfAnyEncodingIsRefusedBeforeAnythingRuns() throws {
        let d = dir + "/layers-of-each-encoding"
        let filler = String(repeating: "bytes that only the frame digests guard ", count: 3000)
        let multi = try Harness.makeBundle(
            spec: """
                [bundle]
                name = "probe"
                version = "1.0.0"
                [layers.native]
                path = "native"
                filter = "x86"
                [layers.plain]
                path = "plain"
                compression = "none"
                [layers.small]
                path = "small"
                compression = "zlib"
                [layers.packed]
                path = "packed"
                compression = "xz"
                [entries.probe]
                exec = ["{native}/probe"]
                env = { PLAIN = "{plain}", SMALL = "{small}", PACKED = "{packed}" }
                """,
            tree: [
                "native/probe": .copy(of: try Harness.probeBinary()),
                "plain/a.txt": .text(filler), "plain/z.txt": .text(filler + "last"),
                "small/b.txt": .text(filler), "packed/c.txt": .text(filler),  // distinct tables: distinct cache names
            ], in: d, key: "a", output: "bin")
        let b = try Harness.bytes(multi)
        let t = try Harness.trailer(b)
        let header = Array(b[Int(t.header.lowerBound)..<Int(t.header.upperBound)])
        let manifest = try Manifest(
            decoding: header, layersLength: UInt64(t.layers.count), tablesLength: UInt64(t.tables.count))
        // The spec's layers: native, packed, plain, small; then the generated SBOM's, which no entry reads.
        XCTAssertEqual(manifest.layers.map(\.name).last, "bundle-metadata")
        let layers = manifest.layers.dropLast()
        XCTAssertEqual(layers.map(\.encodingName), ["zstd+x86", "xz", "none", "zlib"])
        for (i, layer) in layers.enumerated() {
            let before = Set(manifest.layers[..<i].map { $0.cacheName })
            let start = t.layers.lowerBound + layer.offset
            for offset in [start, start + layer.compressedSize / 2, start + layer.compressedSize - 1] {
                var x = b
                x[Int(offset)] ^= 0x04
                try assertRefused(x, [try frameMessage(b, at: offset)], published: before)
            }
        }
    }

    func testFlippedByteInManifest() throws {
        try assertFlipsRefused(["signature verification failed"]) { t in
            [t.header.lowerBound, t.header.lowerBound + 7, t.header.upperBound - 1]
        }
    }

    func testFlippedByteInFileTable() throws {
        try assertFlipsRefused(["file table does not match its digest"]) { t in [t.tables.lowerBound + 3] }
    }

    func testFlippedByteInSignature() throws {
        try assertFlipsRefused(["signature", "signed by key"]) { t in
            [t.signature.lowerBound, t.signature.lowerBound + 5, t.signature.upperBound - 1]
        }
    }

    func testFlippedByteInTrailer() throws {
        try assertFlipsRefused(mask: 0x10, ["trailer", "truncated", "signature", "manifest", "outside the file"]) { t in
            let end = t.signature.upperBound + UInt64(Trailer.size)  // the trailer is the file's last bytes
            return [1, 8, 20, 50, 96].map { end - $0 }
        }
    }

    func testTruncatedBinary() throws {
        let b = try Harness.bytes(binary)
        let appended = b.count - Int(try Harness.trailer(b).stubLength)
        // Cuts inside the appended data (a stub cut in half is not a program the kernel can start).
        for cut in [1, 50, 96, 200, appended / 2, appended] {
            try assertRefused(Array(b.dropLast(cut)), ["no bundle found", "trailer"])
        }
    }

    func testBundleSignedByAnotherKeyIsRefused() throws {
        let other = dir + "/bin-b"
        try Harness.tool([
            "build", dir + "/spec.toml", "-o", other, "--key", dir + "/b.key", "--stub", Harness.stub, "-q",
        ])
        let a = try Harness.bytes(binary), b = try Harness.bytes(other)
        let stubLength = Int(try Harness.trailer(a).stubLength)
        // Stub (pinned to key A) + data signed by key B.
        try assertRefused(
            Array(a[..<stubLength]) + Array(b[stubLength...]), ["signed by key", "not by the trusted key"])
    }

    func testUnsignedDataUnderPinnedKeyIsRefused() throws {
        let unsigned = dir + "/bin-u"
        try Harness.tool(["build", dir + "/spec.toml", "-o", unsigned, "--unsigned", "--stub", Harness.stub, "-q"])
        let a = try Harness.bytes(binary), u = try Harness.bytes(unsigned)
        let stubLength = Int(try Harness.trailer(a).stubLength)
        try assertRefused(Array(a[..<stubLength]) + Array(u[stubLength...]), ["bundle is unsigned"])
        // The unsigned build itself runs, and says so.
        let o = try Harness.run(unsigned, ["--launcher", "info"], env: ["PROBE_LAUNCHER_CACHE_DIR": dir + "/c"])
        XCTAssertTrue(o.stdout.contains("UNSIGNED"), o.stdout)
        XCTAssertEqual(try Harness.run(unsigned, [], env: ["PROBE_LAUNCHER_CACHE_DIR": dir + "/c"]).status, 0)
    }
}
