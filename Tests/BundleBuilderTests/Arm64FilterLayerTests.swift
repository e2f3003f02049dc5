import Foundation
import XCTest
@testable import BundleBuilder
import BundleCodecs
import BundleCrypto
import BundleFormat
import TestSupport

/// A layer stored with the ARM64 branch filter (docs/format.md, "Filters", filter 2), end to end:
/// `LayerBuilder` cuts it into frames of a size that is not a multiple of 4 (so frames start at
/// unaligned stream positions and words are cut by frame ends) and filters each frame; each frame
/// is then decoded and unfiltered on its own as the launcher's `FrameReader` does
/// (`FrameDecompressor`, then `FrameFilter.run`), and every file comes out byte for byte.
final class Arm64FilterLayerTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("arm64-filter-layer", subdirectories: ["l/lib"]) }
    override func tearDownWithError() throws { TempDir.remove(dir) }

    /// Words that are mostly BL and ADRP, so most frames have something to convert.
    func armish(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(state: seed)
        var out: [UInt8] = []
        while out.count < n {
            let r = rng.next()
            let word: UInt32
            switch r % 4 {
            case 0: word = 0x9400_0000 | UInt32(truncatingIfNeeded: r >> 8) & 0x03FF_FFFF  // BL
            case 1: word = 0x9000_0000 | UInt32(truncatingIfNeeded: r >> 8) & 0x60FF_FFFF  // ADRP
            default: word = UInt32(truncatingIfNeeded: r >> 8)
            }
            for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: word >> (8 * UInt32(k)))) }
        }
        return Array(out.prefix(n))
    }

    /// The layer's files in table order, as the frames decode: each frame decoded and unfiltered on
    /// its own, at its stream position; each file checked against its recorded digest when `verify`.
    func extract(_ layer: BuiltLayer, verify: Bool = true) throws -> [String: [UInt8]] {
        let decoder = try FrameDecompressor(codec: layer.codec)
        var stream: [UInt8] = []
        for f in layer.frames {
            XCTAssertEqual(f.decodedOffset, UInt64(stream.count))
            var out = [UInt8](repeating: 0, count: Int(f.decodedSize))
            let input = Array(layer.compressed[Int(f.storedOffset)..<Int(f.storedOffset + f.storedSize)])
            XCTAssertEqual(Blake2b.hash(input), f.digest)
            try input.withUnsafeBytes { i in
                try out.withUnsafeMutableBytes { o in
                    try decoder.decode(i, into: o)
                    FrameFilter.run(
                        layer.filter, encoding: false, o, streamSize: layer.uncompressedSize, position: f.decodedOffset)
                }
            }
            stream += out
        }
        XCTAssertEqual(UInt64(stream.count), layer.uncompressedSize)
        var files: [String: [UInt8]] = [:]
        var at = 0
        for r in layer.records where r.kind == .regular {
            let content = Array(stream[at..<(at + Int(r.size))])
            if verify { XCTAssertEqual(Blake2b.hash(content), r.digest, r.pathString) }
            files[r.pathString] = content
            at += Int(r.size)
        }
        return files
    }

    func testArm64FilteredLayerRoundTripsFrameByFrame() throws {
        // Odd file sizes, so files (and the words in them) start at unaligned stream positions too.
        let contents: [String: [UInt8]] = [
            "lib/a.so": armish(200_003, seed: 1), "lib/b.so": armish(77_777, seed: 2), "c.txt": Array("hello\n".utf8),
            "d.bin": armish(150_001, seed: 3), "empty": [],
        ]
        for (path, bytes) in contents {
            try Data(bytes).write(to: URL(fileURLWithPath: dir + "/l/" + path))
        }
        for frameSize in [4099, 65_536] {
            let spec = LayerSpec(
                name: "l", directory: dir + "/l", codec: .zstd, level: 3, filter: .arm64, frameSize: frameSize)
            let layer = try LayerBuilder.build(spec)
            XCTAssertEqual(layer.filter, .arm64)
            XCTAssertEqual(layer.frames.count, (427_787 + frameSize - 1) / frameSize)
            XCTAssertEqual(try extract(layer), contents, "frame size \(frameSize)")
            // The filter did something: the frames decoded without undoing it are not the files.
            var plain = layer
            plain.filter = .none
            XCTAssertNotEqual(try extract(plain, verify: false)["lib/a.so"], contents["lib/a.so"])
        }
    }

    /// Real arm64 code (the cross glibc that scripts/install-deps.sh installs): smaller with the
    /// filter, and exact after extraction.
    func testArm64MachineCodeLayerIsSmallerAndExact() throws {
        let libc = "/usr/aarch64-linux-gnu/lib/libc.so.6"
        try require(
            FileManager.default.fileExists(atPath: libc),
            "\(libc) is missing (libc6-arm64-cross: run scripts/install-deps.sh)")
        try FileManager.default.copyItem(atPath: libc, toPath: dir + "/l/lib/libc.so.6")
        let code = try Array(Data(contentsOf: URL(fileURLWithPath: libc)))
        var sizes: [LayerFilter: Int] = [:]
        for filter in [LayerFilter.none, .arm64] {
            let layer = try LayerBuilder.build(
                LayerSpec(
                    name: "l", directory: dir + "/l", codec: .zstd, level: 3, filter: filter, frameSize: 256 << 10))
            XCTAssertEqual(try extract(layer), ["lib/libc.so.6": code], filter.name)
            sizes[filter] = layer.compressed.count
        }
        XCTAssertLessThan(sizes[.arm64]!, sizes[.none]!, "the arm64 filter shrinks arm64 code: \(sizes)")
    }
}
