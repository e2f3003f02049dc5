import Foundation
import XCTest
@testable import BundleBuilder
import BundleCodecs
import BundleCrypto
import BundleFormat

/// A layer's cache name binds the bytes that were verified (docs/format.md, "Cache name").
///
/// Since format version 2 the launcher checks a layer's stored bytes against signed digests (version
/// 3: each frame's, in the frame table) and no longer hashes the files it writes. Were the cache
/// name the file table's digest alone, a bundle signed by another key could carry the victim's
/// table byte for byte with other bytes of the same sizes (and honest frame digests), publish them
/// under the victim's name, and the victim's own bundle would run them from then on. Each test here
/// ran the other bytes on the launcher named by the table alone.
final class LayerIdentityTests: SignedAsGivenTestCase {
    let victimScript = "#!/bin/sh\necho victim\n"
    /// The same size as `victimScript`, other bytes.
    let otherScript = "#!/bin/sh\necho HACKED\n"

    /// The victim's table: one script, `run.sh`, with `victimScript`'s size and digest.
    var victimRecords: [FileRecord] {
        [
            FileRecord(
                kind: .regular, mode: 0o755, size: UInt64(victimScript.utf8.count), path: Array("run.sh".utf8),
                digest: Blake2b.hash(Array(victimScript.utf8)))
        ]
    }

    /// Layers named `names`, each with the victim's table and the stream `data[i]`, back to back.
    func layers(_ names: [String], data: [String]) throws -> ([BuiltLayer], [LayerRecord]) {
        XCTAssertEqual(otherScript.utf8.count, victimScript.utf8.count)
        var built: [BuiltLayer] = []
        var records: [LayerRecord] = []
        var offset: UInt64 = 0
        var tableOffset: UInt64 = 0
        for (name, text) in zip(names, data) {
            let table = FileTable.encode(victimRecords)
            let (stored, frames) = try encodeFrames(Array(text.utf8), codec: .zstd, level: 3)
            let b = try BuiltLayer(
                name: name, codec: .zstd, records: victimRecords, table: table, digest: Blake2b.hash(table),
                compressed: stored, frames: frames, uncompressedSize: UInt64(text.utf8.count))
            records.append(
                LayerRecord(
                    name: name, codec: .zstd, offset: offset, compressedSize: UInt64(b.compressed.count),
                    uncompressedSize: b.uncompressedSize, fileCount: victimRecords.count, tableOffset: tableOffset,
                    tableLength: UInt64(b.storedTable.count), digest: b.digest, frames: b.frames))
            offset += UInt64(b.compressed.count)
            tableOffset += UInt64(b.storedTable.count)
            built.append(b)
        }
        return (built, records)
    }

    /// A one-layer bundle of `app` whose layer has the victim's table and `script` as its bytes,
    /// signed by `signer`, running `argv`.
    func bundle(app: String, script: String, argv: [String], signer: SecretKey, prefix: String) throws -> String {
        let (built, records) = try layers(["l"], data: [script])
        let manifest = Manifest(
            appName: app, appVersion: "1", buildTime: 0, keyID: signer.keyID.bytes, layers: records,
            entries: [EntryRecord(name: app, isDefault: true, argv: argv, env: [], layers: [0])])
        let bytes = try BundleAssembler.write(
            stub: try Harness.bytes(Harness.stub), manifest: manifest, layers: built, signing: .key(signer))
        let path = dir + "/\(prefix)-" + UUID().uuidString
        try Harness.writeBytes(bytes, to: path)
        return path
    }

    func run(_ binary: String, app: String, cache: String, env: [String: String] = [:]) throws -> Harness.Output {
        var e = env
        e[app.uppercased() + "_CACHE_DIR"] = cache
        return try Harness.run(binary, [], env: e, timeout: 60)
    }

    func testAnotherSignersBytesUnderTheVictimsTableAreNeverRun() throws {
        let cache = dir + "/cache"
        let victim = try bundle(
            app: "victim", script: victimScript, argv: ["/bin/sh", "{l}/run.sh"], signer: key, prefix: "victim")
        // Key 2: the victim's table byte for byte, other bytes of the same sizes, honest frame
        // digests, and an entry that runs nothing of the layer (nothing hostile happens at this launch).
        let mallory = SecretKey.generate()
        for app in ["victim", "other"] {
            let hostile = try bundle(
                app: app, script: otherScript, argv: ["/bin/true"], signer: mallory, prefix: "mallory-\(app)")
            let planted = try run(hostile, app: app, cache: cache)
            XCTAssertEqual(planted.status, 0, planted.stderr)
        }
        let o = try run(victim, app: "victim", cache: cache)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "victim\n", "the victim's bundle ran another signer's bytes")
        // Both copies exist side by side, each under its own name; neither was overwritten.
        let names = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")
        XCTAssertEqual(names.count, 2, "\(names)")
        // The warm path too: the victim's second run finds its own layer.
        let again = try run(victim, app: "victim", cache: cache)
        XCTAssertEqual(again.stdout, "victim\n")
    }

    func testTwoLayersWithOneTableInOneBundleKeepTheirOwnBytes() throws {
        let (built, records) = try layers(["a", "b"], data: [victimScript, otherScript])
        let manifest = Manifest(
            appName: "twin", appVersion: "1", buildTime: 0, keyID: key.keyID.bytes, layers: records,
            entries: [
                EntryRecord(name: "ea", isDefault: true, argv: ["/bin/sh", "{a}/run.sh"], env: [], layers: [0]),
                EntryRecord(name: "eb", isDefault: false, argv: ["/bin/sh", "{b}/run.sh"], env: [], layers: [1]),
            ])
        let binary = try writeSignedAsGiven(manifest, layers: built, prefix: "twin")
        let cache = dir + "/cache"
        let b = try run(binary, app: "twin", cache: cache, env: ["TWIN_ENTRY": "eb"])
        XCTAssertEqual(b.stdout, "HACKED\n", b.stderr)
        let a = try run(binary, app: "twin", cache: cache)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, "victim\n", "entry ea ran layer b's bytes")
        XCTAssertNotEqual(records[0].cacheName, records[1].cacheName)
        XCTAssertEqual(records[0].digest, records[1].digest, "one table, two streams")
    }

    /// A layer an older launcher extracted is named by its table digest alone: whatever it holds, the
    /// new names never point at it.
    func testALayerNamedByAnOlderLauncherIsNeverUsed() throws {
        let cache = dir + "/cache"
        let victim = try bundle(
            app: "victim", script: victimScript, argv: ["/bin/sh", "{l}/run.sh"], signer: key, prefix: "victim")
        // A first run makes the cache's directories (0700, ours); then only an old-style layer is left.
        XCTAssertEqual(try run(victim, app: "victim", cache: cache).stdout, "victim\n")
        for name in try FileManager.default.contentsOfDirectory(atPath: cache + "/layers") {
            try FileManager.default.removeItem(atPath: cache + "/layers/" + name)
        }
        let (_, records) = try layers(["l"], data: [victimScript])
        let oldName = Hex.encode(records[0].digest)
        XCTAssertNotEqual(oldName, records[0].cacheName)
        let old = cache + "/layers/" + oldName
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: false)
        chmod(old, 0o700)
        try Harness.write(otherScript, to: old + "/run.sh", mode: 0o755)
        try Harness.write(oldName + "\n", to: old + "/" + PathRules.markerName, mode: 0o400)

        let o = try run(victim, app: "victim", cache: cache)
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertEqual(o.stdout, "victim\n", "the launcher used a layer named by its table alone")
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")),
            [oldName, records[0].cacheName])
    }

    /// The name is what docs/format.md defines: BLAKE2b-256 of the domain (V2 since format version 3),
    /// the codec byte, the sizes, the table digest and the frames digest (BLAKE2b-256 of the encoded
    /// frame table: the count, then per frame its offsets, sizes and stored bytes' digest), in that
    /// order; a second implementation computes it from the spec. Each input changes the name.
    func testCacheNameIsTheDocumentedDigest() throws {
        let (_, records) = try layers(["l"], data: [victimScript])
        let l = records[0]
        XCTAssertEqual(l.frames.count, 1)
        var table: [UInt8] = []
        withUnsafeBytes(of: UInt32(l.frames.count).littleEndian) { table += $0 }
        for f in l.frames {
            withUnsafeBytes(of: f.storedOffset.littleEndian) { table += $0 }
            withUnsafeBytes(of: UInt32(f.storedSize).littleEndian) { table += $0 }
            withUnsafeBytes(of: f.decodedOffset.littleEndian) { table += $0 }
            withUnsafeBytes(of: UInt32(f.decodedSize).littleEndian) { table += $0 }
            table += f.digest
        }
        XCTAssertEqual(table.count, 4 + 56 * l.frames.count)
        XCTAssertEqual(l.framesDigest, Blake2b.hash(table))
        var input = Array("DGMO-LAYER-CACHE-NAME-V2".utf8)
        input.append(l.codec.rawValue | l.filter.rawValue << 4)
        withUnsafeBytes(of: l.compressedSize.littleEndian) { input += $0 }
        withUnsafeBytes(of: l.uncompressedSize.littleEndian) { input += $0 }
        withUnsafeBytes(of: UInt32(l.fileCount).littleEndian) { input += $0 }
        input += l.digest + Blake2b.hash(table)
        XCTAssertEqual(input.count, 109)
        XCTAssertEqual(l.cacheName, Hex.encode(Blake2b.hash(input)))
        XCTAssertEqual(l.cacheName.count, 64)
        // Version 2's name (domain V1, the digest of the whole stored stream) is another name: a
        // layer an older launcher extracted is never taken for this one.
        let stored = try layers(["l"], data: [victimScript]).0[0].compressed
        let v1 = Array("DGMO-LAYER-CACHE-NAME-V1".utf8) + input[24..<77] + Blake2b.hash(stored)
        XCTAssertEqual(v1.count, 109)
        XCTAssertNotEqual(Hex.encode(Blake2b.hash(v1)), l.cacheName)

        var variants: [LayerRecord] = []
        var v = l
        v.codec = .xz
        variants.append(v)
        v = l
        v.filter = .x86
        variants.append(v)
        v = l
        v.compressedSize += 1
        variants.append(v)
        v = l
        v.uncompressedSize += 1
        variants.append(v)
        v = l
        v.fileCount += 1
        variants.append(v)
        v = l
        v.digest[0] ^= 1
        variants.append(v)
        v = l
        v.frames[0].digest[31] ^= 1
        variants.append(v)
        v = l
        v.frames[0].decodedSize += 1
        variants.append(v)
        v = l
        v.frames[0].storedOffset += 1
        variants.append(v)
        XCTAssertEqual(Set(variants.map(\.cacheName) + [l.cacheName]).count, variants.count + 1)
        // What does not decide the bytes leaves the name alone: the layer's name and its place.
        v = l
        v.name = "other"
        v.offset = 12345
        v.tableOffset = 678
        XCTAssertEqual(v.cacheName, l.cacheName)
    }
}
