import Foundation
import XCTest
import TestSupport
@testable import BundleBuilder
import BundleCache
import BundleCodecs
import BundleCrypto
import BundleFormat
import BundleSystem
@testable import BundleRuntime

/// Extracting layers stored as frames (format version 3, docs/format.md "Frame table"), in
/// process: each frame's digest is checked in the buffer it was read into before it is decoded,
/// so a changed byte in any frame of any encoding is refused before anything is published; a layer
/// of one frame and one of 10,000 come out exactly; the number of decoding threads changes nothing
/// in the tree written or in the error reported (that of the earliest failing frame).
final class FrameExtractionTests: CacheTestCase {
    // MARK: helpers

    /// `count` bytes that compress somewhat and give the x86 filter work: runs of text, of
    /// `call`/`jmp` opcodes with small operands, and of random bytes.
    func sample(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        let text = Array("the quick brown frame jumps over the lazy decoder; ".utf8)
        while out.count < count {
            let run = 16 + Int(random.next() % 2000)
            switch random.next() % 3 {
            case 0:
                for i in 0..<run { out.append(text[(i + Int(random.next() % 3)) % text.count]) }
            case 1:
                for _ in 0..<(run / 5) {
                    out.append(random.next() % 2 == 0 ? 0xE8 : 0xE9)
                    let x = UInt32(bitPattern: Int32(Int(random.next() % 4001) - 2000))
                    for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: x >> (8 * UInt32(k)))) }
                }
            default:
                out += random.bytes(run)
            }
        }
        return Array(out.prefix(count))
    }

    /// A source tree under the test's directory: `files` (path, bytes, mode), `dirs` (path, mode,
    /// applied after everything is written) and `links` (path, target); run.sh is added.
    func makeTree(
        files: [(String, [UInt8], UInt32)], dirs: [(String, UInt32)] = [], links: [(String, String)] = []
    ) throws -> String {
        let src = dir + "/src-" + UUID().uuidString
        let fm = FileManager.default
        try fm.createDirectory(atPath: src, withIntermediateDirectories: true)
        for (path, _) in dirs { try fm.createDirectory(atPath: src + "/" + path, withIntermediateDirectories: true) }
        for (path, bytes, mode) in files + [("run.sh", Array("#!/bin/sh\necho ran\n".utf8), 0o755)] {
            let full = src + "/" + path
            try fm.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: full))
            XCTAssertEqual(chmod(full, mode_t(mode)), 0)
        }
        for (path, target) in links { try fm.createSymbolicLink(atPath: src + "/" + path, withDestinationPath: target) }
        for (path, mode) in dirs.reversed() { XCTAssertEqual(chmod(src + "/" + path, mode_t(mode)), 0) }
        return src
    }

    /// One entry of a tree: its kind, its permission bits and its bytes (a link's target).
    struct Node: Equatable, CustomStringConvertible {
        var kind: String
        var mode: UInt32
        var bytes: [UInt8]
        var description: String { "\(kind) \(String(mode, radix: 8)) \(bytes.count) bytes" }
    }

    /// Everything under `root`, by relative path (`root` itself excluded, and the cache's marker).
    func snapshot(_ root: String) throws -> [String: Node] {
        var nodes: [String: Node] = [:]
        func walk(_ rel: String) throws {
            let full = rel.isEmpty ? root : root + "/" + rel
            for name in try FileManager.default.contentsOfDirectory(atPath: full).sorted() {
                let path = rel.isEmpty ? name : rel + "/" + name
                if path == PathRules.markerName { continue }
                var st = stat()
                XCTAssertEqual(lstat(root + "/" + path, &st), 0, path)
                let mode = UInt32(st.st_mode) & 0o7777
                switch UInt32(st.st_mode) & UInt32(S_IFMT) {
                case UInt32(S_IFDIR):
                    nodes[path] = Node(kind: "dir", mode: mode, bytes: [])
                    try walk(path)
                case UInt32(S_IFLNK):
                    let target = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/" + path)
                    nodes[path] = Node(kind: "link", mode: 0, bytes: Array(target.utf8))
                default:
                    nodes[path] = Node(
                        kind: "file", mode: mode,
                        bytes: try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/" + path))))
                }
            }
        }
        try walk("")
        return nodes
    }

    /// `source` as the extractor writes it: contents and links as they are, modes as
    /// `LayerExtractor.extractedMode` makes them.
    func expected(_ source: [String: Node]) -> [String: Node] {
        source.mapValues { n in
            var e = n
            if n.kind != "link" { e.mode = LayerExtractor.extractedMode(n.mode, directory: n.kind == "dir") }
            return e
        }
    }

    /// Extracts the bundle's layer into a new directory with `threads` decoding threads (nil: the
    /// default); returns its path.
    func extract(_ bundle: BundleFile, threads: Int?) throws -> String {
        let out = dir + "/out-" + UUID().uuidString
        XCTAssertEqual(mkdir(out, 0o700), 0)
        try FrameExtractionTests.extract(bundle, threads: threads, into: out)
        return out
    }

    static func extract(_ bundle: BundleFile, threads: Int?, into out: String) throws {
        let fd = try Sys.open(out, .directoryNoFollow)
        do {
            try LayerExtractor.extract(bundle, layer: bundle.manifest.layers[0], into: fd, threads: threads)
        } catch {
            fd.close()
            throw error
        }
        fd.close()
    }

    /// The error extracting with `threads` threads fails with (and checks that it fails). On
    /// another thread, so that an extraction that never ends (a writer waiting for a frame whose
    /// failure was not recorded) fails the test after a minute instead of hanging it.
    func extractionError(
        _ bundle: BundleFile, threads: Int?, file: StaticString = #filePath, line: UInt = #line
    ) -> BundleError? {
        /// The bundle goes to the other thread in here and is let go there before `done` is
        /// signalled: the closure itself may be released later, and must not hold the bundle's
        /// descriptor past the test (`DescriptorLedger`).
        final class Outcome: @unchecked Sendable {
            var bundle: BundleFile?
            var result: Result<String, Error>? = nil
            init(_ bundle: BundleFile) { self.bundle = bundle }
            func take() -> BundleFile {
                defer { bundle = nil }
                return bundle!
            }
        }
        let outcome = Outcome(bundle)
        let done = DispatchSemaphore(value: 0)
        let out = dir + "/out-" + UUID().uuidString
        XCTAssertEqual(mkdir(out, 0o700), 0)
        DispatchQueue.global().async {
            outcome.result = Result {
                try FrameExtractionTests.extract(outcome.take(), threads: threads, into: out)
                return out
            }
            done.signal()
        }
        let name = threads.map(String.init) ?? "default"
        guard done.wait(timeout: .now() + 60) == .success, let result = outcome.result else {
            XCTFail("extraction on \(name) threads did not end within a minute", file: file, line: line)
            return nil
        }
        switch result {
        case .success(let out):
            XCTFail("extracted into \(out) with \(name) threads", file: file, line: line)
            return nil
        case .failure(let e as BundleError):
            return e
        case .failure(let error):
            XCTFail("not a BundleError: \(error)", file: file, line: line)
            return nil
        }
    }

    func bytes(of bundle: BundleFile) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle.path)))
    }

    // MARK: a changed byte in any frame

    /// A byte flipped in the first, a middle and the last frame of layers of every codec, with and
    /// without the x86 filter: the cache install fails with `.digestMismatch` naming that frame,
    /// publishes nothing under the layer's cache name and leaves nothing in tmp/; `verify` (on the
    /// caller's thread and on the default threads) says the same. The untouched bundle installs and
    /// comes out exact.
    func testAFlippedByteInAnyFrameOfAnyEncodingIsRefusedBeforeAnythingIsPublished() throws {
        let data = sample(300_000, seed: 11)
        let src = try makeTree(
            files: [("a.bin", Array(data[..<100_000]), 0o644), ("b/c.bin", Array(data[100_000...]), 0o755)])
        let source = try snapshot(src)
        let encodings: [(Codec, LayerFilter)] = [
            (.zstd, .none), (.xz, .none), (.zlib, .none), (.none, .none), (.zstd, .x86), (.xz, .x86), (.zlib, .x86),
            (.none, .x86),
        ]
        for (n, (codec, filter)) in encodings.enumerated() {
            let what = filter == .none ? codec.name : "\(codec.name)+\(filter.name)"
            let bundle = try makeBundle(directory: src, codec: codec, filter: filter, frameSize: 64 << 10)
            let layer = bundle.manifest.layers[0]
            XCTAssertEqual(layer.frames.count, 5, what)
            let cache = try openCache(dir + "/cache-\(n)")
            let original = try bytes(of: bundle)
            let base = Int(bundle.trailer.layers.lowerBound + layer.offset)
            let last = layer.frames.count - 1
            // The first frame's first byte, a byte in the middle of a middle frame, the last frame's last byte.
            let flips = [
                (0, 0), (last / 2, Int(layer.frames[last / 2].storedSize / 2)),
                (last, Int(layer.frames[last].storedSize) - 1),
            ]
            for (k, within) in flips {
                var x = original
                x[base + Int(layer.frames[k].storedOffset) + within] ^= 0x10
                let tampered = try writeBundle(x)
                let context = "\(what), frame \(k), byte \(within)"
                XCTAssertThrowsError(try cache.install(tampered.manifest.layers[0], from: tampered).close(), context) {
                    let e = $0 as? BundleError
                    XCTAssertEqual(e?.code, .digestMismatch, "\(context): \($0)")
                    XCTAssertEqual(
                        e?.message,
                        "layer 'l': frame \(k) does not match its digest (the bundle is corrupt or was modified)",
                        context)
                }
                XCTAssertFalse(
                    FileManager.default.fileExists(atPath: cache.layerPath(layer.cacheName)), "published: \(context)")
                XCTAssertEqual(names(cache.path + "/tmp"), [], "left in tmp/: \(context)")
                XCTAssertEqual(names(cache.path + "/layers"), [], context)
                for threads in [0, nil] {
                    assertBundleError(
                        try LayerExtractor.verify(tampered, layer: tampered.manifest.layers[0], threads: threads),
                        .digestMismatch, mentions: "layer 'l': frame \(k) does not match its digest",
                        context: "\(context), verify on \(threads.map(String.init) ?? "default") threads")
                }
            }
            // Untouched, the same bytes install and verify.
            XCTAssertNoThrow(try LayerExtractor.verify(bundle, layer: layer), what)
            try cache.install(layer, from: bundle).close()
            XCTAssertEqual(try snapshot(cache.layerPath(layer.cacheName)), expected(source), what)
        }
    }

    // MARK: one frame, many frames

    /// A layer of exactly one frame (well under the frame size; exactly the frame size) and one of
    /// 10,000 frames (1 KiB frames over 10,240,000 bytes in 40 files of uneven sizes, one empty)
    /// extract byte for byte; the 10,000 frames within a few seconds.
    func testOneFrameAndTenThousandFramesExtractExactly() throws {
        // One frame: the default 8 MiB frame over 200 KB, and 64 KiB exactly filling a 64 KiB frame;
        // one byte more makes a second frame of one byte.
        for (size, frameSize, frames) in [
            (200_000, LayerSpec.defaultFrameSize, 1), ((64 << 10) - 19, 64 << 10, 1), ((64 << 10) - 18, 64 << 10, 2),
        ] {
            // run.sh is 19 bytes, after a.bin in the stream.
            let src = try makeTree(files: [("a.bin", sample(size, seed: UInt64(size)), 0o644)])
            let bundle = try makeBundle(directory: src, frameSize: frameSize)
            let layer = bundle.manifest.layers[0]
            XCTAssertEqual(layer.frames.count, frames, "\(size) bytes in frames of \(frameSize)")
            XCTAssertEqual(layer.uncompressedSize, UInt64(size + 19))
            if frames == 2 { XCTAssertEqual(layer.frames[1].decodedSize, 1) }
            for threads in [0, nil] {
                XCTAssertEqual(try snapshot(try extract(bundle, threads: threads)), expected(try snapshot(src)))
            }
        }

        // 10,000 frames.
        var random = SplitMix64(state: 10_000)
        var files: [(String, [UInt8], UInt32)] = []
        var left = 10_240_000 - 19
        let pattern = sample(1 << 20, seed: 3)
        for i in 0..<40 {
            let size = i == 39 ? left : i == 7 ? 0 : min(left, Int(random.next() % 520_000))
            let start = Int(random.next() % UInt64(pattern.count))
            var content: [UInt8] = []
            content.reserveCapacity(size)
            while content.count < size {
                content += pattern[start..<min(pattern.count, start + size - content.count)]
                if content.count < size { content += pattern[..<min(pattern.count, size - content.count)] }
            }
            files.append((String(format: "d%02d/f%02d.bin", i % 5, i), content, 0o644))
            left -= size
        }
        let src = try makeTree(files: files)
        let build = Date()
        let bundle = try makeBundle(directory: src, frameSize: 1024)
        let layer = bundle.manifest.layers[0]
        XCTAssertEqual(layer.frames.count, 10_000)
        XCTAssertEqual(Set(layer.frames.map(\.decodedSize)), [1024])
        let built = Date().timeIntervalSince(build)
        let source = expected(try snapshot(src))
        for threads in [nil, 0] {
            let started = Date()
            let out = try extract(bundle, threads: threads)
            let seconds = Date().timeIntervalSince(started)
            print(
                "10,000 frames of 1 KiB: built in \(String(format: "%.2f", built)) s, extracted on \(threads.map(String.init) ?? "default") threads in \(String(format: "%.2f", seconds)) s"
            )
            XCTAssertLessThan(seconds, 10, "10,000 frames within a few seconds")
            XCTAssertEqual(try snapshot(out), source)
        }
    }

    // MARK: threads

    /// The same layer (files of every mode, empty ones, files shorter and longer than a frame,
    /// directories of several modes, symlinks) extracted on 0, 1, 2 and 8 decoding threads and on
    /// the default: byte-identical trees, modes included, and each the source's.
    func testEveryThreadCountWritesTheSameTree() throws {
        let data = sample(400_000, seed: 21)
        let src = try makeTree(
            files: [
                ("bin/tool", Array(data[0..<150_000]), 0o755), ("bin/empty", [], 0o644),
                ("lib/x/liba.so", Array(data[150_000..<150_100]), 0o755),
                ("lib/x/libb.so", Array(data[150_100..<300_000]), 0o444),
                ("lib/y/secret", Array(data[300_000..<300_001]), 0o600), ("share/doc", Array(data[300_001...]), 0o640),
                ("share/zero", [], 0o600),
            ],
            dirs: [("bin", 0o755), ("lib", 0o750), ("lib/x", 0o555), ("lib/y", 0o700), ("share", 0o711)],
            links: [
                ("lib/x/liba.so.1", "liba.so"), ("top", "lib/x"), ("lib/y/up", "../x/libb.so"), ("dangling", "nowhere"),
            ])
        let source = expected(try snapshot(src))
        for (codec, filter) in [(Codec.zstd, LayerFilter.x86), (.xz, .none), (.none, .none)] {
            let bundle = try makeBundle(directory: src, codec: codec, filter: filter, frameSize: 4096)
            XCTAssertEqual(bundle.manifest.layers[0].frames.count, (400_000 + 19 + 4095) / 4096)
            var trees: [String: [String: Node]] = [:]
            for threads in [0, 1, 2, 8, nil] {
                let name = threads.map(String.init) ?? "default"
                trees[name] = try snapshot(try extract(bundle, threads: threads))
            }
            for (name, tree) in trees {
                XCTAssertEqual(tree, trees["0"], "\(codec.name): \(name) threads against 0")
                XCTAssertEqual(tree, source, "\(codec.name): \(name) threads against the source")
            }
        }
    }

    /// `built` with the stored bytes of each frame in `frames` replaced by `replace(old)` (of the
    /// same length) and its digest recomputed: a frame the signature would cover whose bytes do not
    /// decode.
    func corrupting(_ built: BuiltLayer, frames: [Int], _ replace: ([UInt8]) -> [UInt8]) -> BuiltLayer {
        var b = built
        for k in frames {
            let f = b.frames[k]
            let range = Int(f.storedOffset)..<Int(f.storedOffset + f.storedSize)
            let new = replace(Array(b.compressed[range]))
            precondition(new.count == range.count)
            b.compressed.replaceSubrange(range, with: new)
            b.frames[k].digest = Blake2b.hash(new)
        }
        return b
    }

    /// A frame whose stored bytes are garbage under a matching digest (it passes the digest check
    /// and reaches the decoder): the extraction fails with the same `.codec` error naming that
    /// frame on 0, 1, 2 and 8 threads and on the default, `verify` too, and the cache publishes
    /// nothing and leaves nothing in tmp/.
    func testAnUndecodableFrameFailsTheSameWayOnEveryThreadCount() throws {
        let src = try makeTree(files: [("a.bin", sample(500_000, seed: 31), 0o644)])
        let built = try LayerBuilder.build(layerSpec(src, frameSize: 16 << 10))
        XCTAssertEqual(built.frames.count, 31)
        var random = SplitMix64(state: 41)
        for k in [0, 13, 30] {
            let bundle = try makeBundle(
                asGiven: corrupting(built, frames: [k]) { old in [0xDE, 0xAD] + random.bytes(old.count - 2) })
            var messages: Set<String> = []
            for threads in [0, 1, 2, 8, nil] {
                guard let e = extractionError(bundle, threads: threads) else { continue }
                XCTAssertEqual(e.code, .codec, e.message)
                messages.insert(e.message)
                do {
                    try LayerExtractor.verify(bundle, layer: bundle.manifest.layers[0], threads: threads)
                    XCTFail("verify passed")
                } catch { messages.insert(error.message) }
            }
            XCTAssertEqual(messages.count, 1, "one message whatever the threads: \(messages)")
            XCTAssertTrue(messages.first?.hasPrefix("layer 'l' frame \(k): zstd: ") == true, "\(messages)")
            let cache = try openCache(dir + "/cache-\(k)")
            XCTAssertThrowsError(try cache.install(bundle.manifest.layers[0], from: bundle).close()) {
                XCTAssertEqual(($0 as? BundleError)?.message, messages.first)
            }
            XCTAssertEqual(names(cache.path + "/tmp"), [])
            XCTAssertEqual(names(cache.path + "/layers"), [])
        }
        // The same layer, uncorrupted, extracts.
        XCTAssertEqual(
            try snapshot(try extract(try makeBundle(asGiven: built), threads: 8)), expected(try snapshot(src)))
    }

    /// Two frames that do not decode: an early one that fails late (its content checksum, the last
    /// bytes of a large frame, after the whole frame is decoded) and a later one that fails at once
    /// (garbage in place of the frame header). With threads, the later one usually fails first; the
    /// error is still the early frame's, the same as on the caller's thread, every time.
    func testTheEarliestFailingFrameIsReportedWhicheverFailsFirst() throws {
        let src = try makeTree(files: [("a.bin", sample(6 << 20, seed: 51), 0o644)])
        let built = try LayerBuilder.build(layerSpec(src, frameSize: 1 << 20))
        XCTAssertEqual(built.frames.count, 7)
        var hostile = corrupting(built, frames: [1]) { old in
            var b = old
            b[b.count - 1] ^= 0xFF  // the last byte of the content checksum
            return b
        }
        hostile = corrupting(hostile, frames: [2, 5]) { old in [UInt8](repeating: 0x55, count: old.count) }
        let bundle = try makeBundle(asGiven: hostile)
        let inline = try XCTUnwrap(extractionError(bundle, threads: 0))
        XCTAssertEqual(inline.message, "layer 'l' frame 1: zstd: corrupt data (checksum mismatch)")
        XCTAssertEqual(inline.code, .codec)
        for round in 0..<5 {
            for threads in [1, 2, 8, nil] {
                let e = extractionError(bundle, threads: threads)
                XCTAssertEqual(
                    e?.message, inline.message, "round \(round), \(threads.map(String.init) ?? "default") threads")
            }
        }
        // Without frame 1's damage the first failure is frame 2's.
        let later = try makeBundle(
            asGiven: corrupting(built, frames: [2, 5]) { old in [UInt8](repeating: 0x55, count: old.count) })
        for threads in [0, 2, 8] {
            XCTAssertEqual(
                extractionError(later, threads: threads)?.message.hasPrefix("layer 'l' frame 2: zstd: "), true)
        }
    }
}
