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

    /// A one-layer (`l`) layer whose table is exactly `records` (or `table`) and whose decoded
    /// stream is `data`, stored as frames of `frameSize` bytes compressed with `codec` (as
    /// `LayerBuilder` stores them: `encodeFrames`); `storedTable` replaces the table's stored
    /// (compressed) bytes; `fileCount` overrides what the manifest's record says. `declaredSize`
    /// makes the layer declare another decoded size than `data`'s, and its frame table with it (the
    /// last frame's decoded size is off by the difference; no frame for 0), so the frames' stored
    /// bytes decode to more or fewer bytes than their records say. Returns the layer and its
    /// manifest record at offset 0.
    func craftLayer(
        _ records: [FileRecord], data: String, codec: Codec = .zstd, table: [UInt8]? = nil,
        storedTable: [UInt8]? = nil, declaredSize: UInt64? = nil,
        fileCount: Int? = nil, frameSize: Int = 8 << 20
    ) throws -> (BuiltLayer, LayerRecord) {
        let table = table ?? FileTable.encode(records)
        var (compressed, frames) = try encodeFrames(Array(data.utf8), codec: codec, frameSize: frameSize)
        let size = declaredSize ?? UInt64(data.utf8.count)
        if size != UInt64(data.utf8.count) {
            if size == 0 {
                frames = []
            } else if frames.isEmpty {
                // No data at all: one empty stored frame that declares `size` bytes.
                (compressed, frames) = try encodeFrames([0], codec: codec, frameSize: frameSize)
                frames[0].decodedSize = size
            } else {
                let last = frames.count - 1
                frames[last].decodedSize = frames[last].decodedSize + size - UInt64(data.utf8.count)
            }
        }
        var built = try BuiltLayer(
            name: "l", codec: codec, records: records, table: table, digest: Blake2b.hash(table),
            compressed: compressed, frames: frames, uncompressedSize: size)
        if let storedTable { built.storedTable = storedTable }
        return (built, layerRecord(built, fileCount: fileCount))
    }

    /// The manifest record of a single layer `built` (at offset 0).
    func layerRecord(_ built: BuiltLayer, fileCount: Int? = nil) -> LayerRecord {
        LayerRecord(
            name: built.name, codec: built.codec, filter: built.filter, offset: 0,
            compressedSize: UInt64(built.compressed.count), uncompressedSize: built.uncompressedSize,
            fileCount: fileCount ?? built.records.count, tableOffset: 0, tableLength: UInt64(built.storedTable.count),
            digest: built.digest, frames: built.frames)
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

/// `data` as a layer's stored stream the way `LayerBuilder` writes it: frames of `frameSize` decoded
/// bytes (the last shorter), each filtered with `filter` and compressed with `codec` on its own
/// (`FrameEncoder`), back to back, with their frame records (digest: BLAKE2b-256 of the stored
/// bytes). No data, no frame.
func encodeFrames(
    _ data: [UInt8], codec: Codec, filter: LayerFilter = .none, level: Int? = nil, frameSize: Int = 8 << 20
) throws -> (stored: [UInt8], frames: [FrameRecord]) {
    var stored: [UInt8] = []
    var frames: [FrameRecord] = []
    var offset = 0
    while offset < data.count {
        var piece = Array(data[offset..<min(data.count, offset + frameSize)])
        let bytes = try piece.withUnsafeMutableBytes { (b) throws(BundleError) in
            try FrameEncoder.encode(
                b, codec: codec, level: level ?? codec.defaultLevel, filter: filter, offset: UInt64(offset),
                streamSize: UInt64(data.count))
        }
        frames.append(
            FrameRecord(
                storedOffset: UInt64(stored.count), storedSize: UInt64(bytes.count), decodedOffset: UInt64(offset),
                decodedSize: UInt64(piece.count), digest: Blake2b.hash(bytes)))
        stored += bytes
        offset += piece.count
    }
    return (stored, frames)
}
