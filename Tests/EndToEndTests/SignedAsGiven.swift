import Foundation
import XCTest
@testable import BundleBuilder
import BundleCodecs
import BundleCrypto
import BundleFormat

/// The base of the end-to-end classes that craft bundles no honest `bundle-append build` would
/// write: a fresh directory and signing key per test, and bundles signed with their manifest
/// exactly as given (`BundleAssembler.write`), so only the launcher's own checks can refuse them.
class SignedAsGivenTestCase: XCTestCase {
    var dir = ""
    var key: SecretKey!

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        key = SecretKey.generate()
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A one-layer (`l`) layer whose table is exactly `records` (or `table`) and whose data stream
    /// is `data`, compressed with `codec`; `storedTable` replaces the table's stored (compressed)
    /// bytes; `declaredSize` and `fileCount` override what the manifest's record says. Returns the
    /// layer and its manifest record at offset 0.
    func craftLayer(
        _ records: [FileRecord], data: String, codec: Codec = .zstd, table: [UInt8]? = nil,
        storedTable: [UInt8]? = nil, declaredSize: UInt64? = nil,
        fileCount: Int? = nil
    ) throws -> (BuiltLayer, LayerRecord) {
        let table = table ?? FileTable.encode(records)
        let compressed = try Codecs.compress(Array(data.utf8), codec: codec, level: codec.defaultLevel)
        let size = declaredSize ?? UInt64(data.utf8.count)
        var built = try BuiltLayer(
            name: "l", codec: codec, records: records, table: table, digest: Blake2b.hash(table),
            compressed: compressed, uncompressedSize: size)
        if let storedTable { built.storedTable = storedTable }
        return (built, layerRecord(built, fileCount: fileCount))
    }

    /// The manifest record of a single layer `built` (at offset 0).
    func layerRecord(_ built: BuiltLayer, fileCount: Int? = nil) -> LayerRecord {
        LayerRecord(
            name: built.name, codec: built.codec, offset: 0, compressedSize: UInt64(built.compressed.count),
            uncompressedSize: built.uncompressedSize, fileCount: fileCount ?? built.records.count, tableOffset: 0,
            tableLength: UInt64(built.storedTable.count), digest: built.digest,
            dataDigest: Blake2b.hash(built.compressed))
    }

    /// Signs `manifest` as given around the test stub and `layers`; writes it to `dir/<prefix>-<uuid>`.
    func writeSignedAsGiven(_ manifest: Manifest, layers: [BuiltLayer], prefix: String) throws -> String {
        let bytes = try BundleAssembler.write(
            stub: try Harness.bytes(Harness.stub), manifest: manifest, layers: layers, signing: .key(key))
        let path = dir + "/\(prefix)-" + UUID().uuidString
        try Harness.writeBytes(bytes, to: path)
        return path
    }
}
