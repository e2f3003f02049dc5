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

/// The base of the cache module's in-process test classes: a private temporary directory per
/// test, real bundles made from real trees (`makeBundle`), a cache in the test's directory, and
/// syscall failures injected through `Sys.failureInjection` (debug builds only). Every test also
/// checks that it left as many descriptors open as it found (the debug build's
/// `DescriptorLedger`): none leaked.
class CacheTestCase: XCTestCase {
    var dir = ""
    var descriptorsAtStart = 0

    override func setUpWithError() throws {
        dir = try TempDir.make("cache-unit")
        chmod(dir, 0o700)
        descriptorsAtStart = DescriptorLedger.count
    }

    override func tearDownWithError() throws {
        Sys.failureInjection = nil
        XCTAssertEqual(DescriptorLedger.count, descriptorsAtStart, "descriptors leaked by this test")
        _ = try? Process.run(URL(fileURLWithPath: "/bin/chmod"), arguments: ["-R", "u+rwx", dir]).waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: helpers

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A real, unsigned bundle with one layer `l` holding `files` (path -> content) and run.sh,
    /// and `binary` files, stored with `codec` and `filter` in frames of `frameSize` bytes.
    func makeBundle(
        _ files: [String: String] = ["run.sh": "#!/bin/sh\necho ran\n"], binary: [String: [UInt8]] = [:],
        codec: Codec = .zstd, filter: LayerFilter = .none, frameSize: Int = LayerSpec.defaultFrameSize
    ) throws -> BundleFile {
        let src = dir + "/src-" + UUID().uuidString
        let contents = files.mapValues { Array($0.utf8) }.merging(binary) { a, _ in a }
        for (path, content) in contents {
            let full = src + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content).write(to: URL(fileURLWithPath: full))
            chmod(full, 0o755)
        }
        return try makeBundle(directory: src, codec: codec, filter: filter, frameSize: frameSize)
    }

    /// A real, unsigned bundle whose one layer `l` is the tree at `src` (the entry runs
    /// `{l}/run.sh`), stored with `codec` and `filter` in frames of `frameSize` bytes.
    func makeBundle(
        directory src: String, codec: Codec = .zstd, filter: LayerFilter = .none,
        frameSize: Int = LayerSpec.defaultFrameSize
    ) throws -> BundleFile {
        let spec = layerSpec(src, codec: codec, filter: filter, frameSize: frameSize)
        let layer = try LayerBuilder.build(spec)
        let bytes = try BundleAssembler.assemble(
            stub: try testStub(), spec: bundleSpec(spec), layers: [layer], buildTime: 0, signing: .unsigned)
        return try writeBundle(bytes)
    }

    func layerSpec(
        _ src: String, codec: Codec = .zstd, filter: LayerFilter = .none, frameSize: Int = LayerSpec.defaultFrameSize
    ) -> LayerSpec {
        LayerSpec(
            name: "l", directory: src, codec: codec, level: codec == .zstd ? 3 : codec.defaultLevel, filter: filter,
            frameSize: frameSize)
    }

    /// The spec of a bundle `unit` of `layer` (`l`), whose one entry runs `/bin/sh {l}/run.sh`.
    func bundleSpec(_ layer: LayerSpec) -> BundleSpec {
        BundleSpec(
            name: "unit", version: "1", layers: [layer],
            entries: [
                EntrySpec(name: "unit", exec: ["/bin/sh", "{l}/run.sh"], env: [], layers: ["l"], isDefault: true)
            ])
    }

    /// An unsigned bundle of `layer` (`l`) exactly as given, frame table included: no check of the
    /// builder's (`BundleAssembler.write`), so hostile layers reach the extractor's own checks.
    func makeBundle(asGiven layer: BuiltLayer) throws -> BundleFile {
        let record = LayerRecord(
            name: layer.name, codec: layer.codec, filter: layer.filter, offset: 0,
            compressedSize: UInt64(layer.compressed.count), uncompressedSize: layer.uncompressedSize,
            fileCount: layer.records.count, tableOffset: 0, tableLength: UInt64(layer.storedTable.count),
            digest: layer.digest, frames: layer.frames)
        let manifest = Manifest(
            appName: "unit", appVersion: "1", buildTime: 0, keyID: [UInt8](repeating: 0, count: 8), layers: [record],
            entries: [
                EntryRecord(name: "unit", isDefault: true, argv: ["/bin/sh", "{l}/run.sh"], env: [], layers: [0])
            ])
        return try writeBundle(
            try BundleAssembler.write(stub: try testStub(), manifest: manifest, layers: [layer], signing: .unsigned))
    }

    /// The debug stub `make check` builds.
    func testStub() throws -> [UInt8] {
        try Array(
            Data(
                contentsOf: CacheTestCase.packageRoot.appendingPathComponent(".build/debug/stubs/linux-x64/bundle-stub")
            ))
    }

    /// Writes `bytes` to a new file in the test's directory and opens it as an unsigned bundle.
    func writeBundle(_ bytes: [UInt8]) throws -> BundleFile {
        let path = dir + "/bundle-" + UUID().uuidString
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try BundleFile(path: path, trust: .unsignedOnly)
    }

    /// What `CacheRoot.layer` found, by name (its descriptor closed).
    func state(_ s: consuming CacheRoot.LayerState) -> String {
        switch consume s {
        case .absent: return "absent"
        case .complete: return "complete"
        case .damaged: return "damaged"
        }
    }

    func location(_ path: String) -> CacheLocation {
        CacheLocation(
            base: path, leaf: nil, source: .variable, variableName: "UNIT_CACHE_DIR", cacheName: "unit", home: nil)
    }

    func openCache(_ path: String? = nil) throws -> CacheRoot {
        try XCTUnwrap(try location(path ?? dir + "/cache").open(create: true))
    }

    func names(_ path: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }

    /// Injects `errno` into the first `times` calls named `call` (whose subject contains `subject`).
    /// Locked: the extraction's decoding thread makes calls too.
    final class Injector: @unchecked Sendable {
        let lock = NSLock()
        private var _remaining: Int
        private var _seen = 0
        init(_ times: Int) { _remaining = times }
        var remaining: Int { lock.withLock { _remaining } }
        var seen: Int { lock.withLock { _seen } }
        /// Counts one more call and returns how many were seen.
        func count() -> Int {
            lock.withLock {
                _seen += 1; return _seen
            }
        }
        func next() -> Bool {
            lock.withLock {
                _seen += 1
                guard _remaining > 0 else { return false }
                _remaining -= 1
                return true
            }
        }
    }
    func inject(_ call: Syscall, _ e: Int32, times: Int = Int.max, subject: String = "") -> Injector {
        let i = Injector(times)
        Sys.failureInjection = { c, s in
            guard c == call, subject.isEmpty || s.contains(subject) else { return nil }
            return i.next() ? e : nil
        }
        return i
    }
}
