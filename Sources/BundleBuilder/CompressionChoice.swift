import Foundation
import BundleCodecs
import BundleFormat
import BundleCrypto

/// Chooses each layer's codec for release builds by measuring, not guessing.
///
/// Every layer is compressed with each candidate (zstd 22 and xz 9, each with the layer's filter
/// and frame size) and each result is decoded in memory, its frames on all cores as the launcher
/// decodes them, to time it. Start from the smallest candidate everywhere; while some command's
/// cold start (the layers of the default entry plus those of the entry it starts) would spend
/// more than `budget` seconds decoding, switch the layer that buys the most time per added
/// byte to its faster candidate. The table of measurements goes to `say`.
/// The timing varies from run to run, so a caller that wants reproducible bytes records the
/// choice (`save`) and builds from the record (`load`) afterwards.
public enum CompressionChoice {
    public static let candidates: [(Codec, Int)] = [(.xz, 9), (.zstd, 22)]

    struct Measured {
        var layer: BuiltLayer
        var decodeSeconds: Double
    }

    public static func choose(_ spec: BundleSpec, budget: Double, say: (String) -> Void) throws(BuildError)
        -> [BuiltLayer]
    {
        // Every (layer, candidate) compressed in parallel; decodes are timed afterwards, one at a
        // time, so the timings are not disturbed by compression running beside them.
        let jobs = spec.layers.flatMap { l in
            candidates.map { c -> LayerSpec in
                var s = l; s.codec = c.0; s.level = c.1; return s
            }
        }
        let built = try BundleBuild.buildLayers(jobs)
        // measured[layer index][candidate index]
        var measured: [[Measured]] = []
        for li in spec.layers.indices {
            measured.append(
                candidates.indices.map { ci in
                    let layer = built[li * candidates.count + ci]
                    return Measured(layer: layer, decodeSeconds: (try? decodeTime(layer)) ?? .infinity)
                })
        }
        // Start with the smallest output per layer.
        var pick = measured.map { row in
            row.indices.min { row[$0].layer.compressed.count < row[$1].layer.compressed.count }!
        }
        let defaultEntry = spec.entries.first { $0.isDefault } ?? spec.entries[0]
        let paths: [(String, Set<Int>)] = spec.entries.map { e in
            (e.name, Set(layerIndices(defaultEntry, spec) + layerIndices(e, spec)))
        }
        func cost(_ path: Set<Int>) -> Double { path.reduce(0) { $0 + measured[$1][pick[$1]].decodeSeconds } }
        while let (_, path) = paths.first(where: { cost($0.1) > budget }) {
            var best: (layer: Int, to: Int, ratio: Double)? = nil
            for li in path {
                let now = measured[li][pick[li]]
                for ci in measured[li].indices where measured[li][ci].decodeSeconds < now.decodeSeconds {
                    let saved = now.decodeSeconds - measured[li][ci].decodeSeconds
                    let added = Double(max(1, measured[li][ci].layer.compressed.count - now.layer.compressed.count))
                    if best == nil || saved / added > best!.ratio { best = (li, ci, saved / added) }
                }
            }
            guard let best else { break }  // nothing faster left: report and go on
            pick[best.layer] = best.to
        }
        say(
            "release compression (decode time measured here; budget \(String(format: "%.2f", budget)) s of decoding per cold command):"
        )
        for (li, l) in spec.layers.enumerated() {
            let cells = measured[li].map { m in
                "\(m.layer.codec.name)\(m.layer.filter == .none ? "" : "+" + m.layer.filter.name) \(formatBytes(UInt64(m.layer.compressed.count))) \(String(format: "%.3f", m.decodeSeconds)) s"
            }
            say(
                "  \(l.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(formatBytes(measured[li][0].layer.uncompressedSize).padding(toLength: 10, withPad: " ", startingAt: 0)) \(cells.joined(separator: " | "))  -> \(measured[li][pick[li]].layer.codec.name)"
            )
        }
        for (name, path) in paths {
            say("  cold decode for '\(name)': \(String(format: "%.3f", cost(path))) s")
        }
        return spec.layers.indices.map { measured[$0][pick[$0]].layer }
    }

    /// The layers of a measured build: compressed with the codecs of `recorded` (what `load` read
    /// from `record`) when there is one, else measured now (`choose`) and written to `record`
    /// with `header` (`save`), so the next build reads the choice instead of timing again.
    public static func layers(
        for spec: BundleSpec, recorded: [LayerSpec]?, record: String, budget: Double, header: String,
        say: (String) -> Void
    ) throws(BuildError) -> BundleBuild.Layers {
        if let recorded { return .compress(recorded) }
        let chosen = try choose(spec, budget: budget, say: say)
        try save(record, chosen, header: header)
        say("recorded the choice in \(record) (commit it; delete it or measure again to change it)")
        return .built(chosen)
    }

    /// Where a plain `bundle-append build SPEC` looks for a recorded choice: beside the spec,
    /// named after it (`hello.toml` → `hello.compression.toml`). A build without
    /// `--compression`, `--level` or `--choose-compression` uses the record there when it names
    /// every layer, so a committed record needs no flag to be used.
    public static func recordPath(forSpec spec: String) -> String {
        let dir = PathText.directory(of: spec)
        var name = (spec as NSString).lastPathComponent
        if name.hasSuffix(".toml") { name.removeLast(5) }
        return (dir.isEmpty ? "" : dir == "/" ? "/" : dir + "/") + name + ".compression.toml"
    }

    /// The recorded decision (an app's build keeps it in its source tree and commits it),
    /// so two release builds of the same inputs make the same bytes: timing never varies the
    /// output. nil when the file is missing or lacks a layer (measure again).
    public static func load(_ path: String, layers: [LayerSpec]) throws(BuildError) -> [LayerSpec]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var chosen: [String: (Codec, Int, Int?)] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line =
                raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?.trimmingCharacters(
                    in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let kv = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let value = kv.count == 2 ? kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) : ""
            let parts = value.split(separator: ":")
            guard kv.count == 2, parts.count == 2 || parts.count == 3, let codec = Codec(name: String(parts[0])),
                let level = Int(parts[1])
            else {
                throw BuildError(
                    "\(path): line \(n + 1): expected name = \"codec:level\" or \"codec:level:frame-bytes\", got '\(line)'"
                )
            }
            // The two-part form (written before format version 3) keeps the spec's frame size.
            var frameSize: Int? = nil
            if parts.count == 3 {
                guard let size = Int(parts[2]), size >= LayerSpec.minimumFrameSize, UInt64(size) <= Limits.maxFrameSize
                else {
                    throw BuildError(
                        "\(path): line \(n + 1): frame size '\(parts[2])' is not a number of bytes in 1...\(Limits.maxFrameSize)"
                    )
                }
                frameSize = size
            }
            chosen[kv[0]] = (codec, level, frameSize)
        }
        var out: [LayerSpec] = []
        for var l in layers {
            guard let (codec, level, frameSize) = chosen[l.name] else { return nil }  // a new layer: measure again
            l.codec = codec
            l.level = level
            if let frameSize { l.frameSize = frameSize }
            out.append(l)
        }
        return out
    }

    /// Writes the record `load` reads: `header` (comment lines saying who wrote it and why), then
    /// one `name = "codec:level:frame-bytes"` line per layer, the level being the candidate's
    /// (`levelFor`) and the frame size the layer was cut with (`BuiltLayer.frameSize`).
    public static func save(_ path: String, _ layers: [BuiltLayer], header: String) throws(BuildError) {
        var text = header
        for l in layers { text += "\(l.name) = \"\(l.codec.name):\(levelFor(l.codec)):\(l.frameSize)\"\n" }
        try BundleBuild.writeAtomically(Array(text.utf8), to: path, mode: 0o644)
    }

    public static func levelFor(_ codec: Codec) -> Int { candidates.first { $0.0 == codec }?.1 ?? codec.defaultLevel }

    /// The layers an entry needs: `EntrySpec.layers` (its placeholders and its `layers` list).
    static func layerIndices(_ e: EntrySpec, _ spec: BundleSpec) -> [Int] {
        spec.layers.indices.filter { e.layers.contains(spec.layers[$0].name) }
    }

    /// Best of three in-memory decodes of the whole layer as the launcher decodes it on this
    /// machine: each frame hashed, decoded and unfiltered, on `FrameTable.decodingThreads` threads.
    static func decodeTime(_ layer: BuiltLayer) throws -> Double {
        var best = Double.infinity
        let failed = FailureFlag()
        let threads = max(
            1,
            FrameTable.decodingThreads(
                layer.frames, codec: layer.codec, processors: ProcessInfo.processInfo.activeProcessorCount))
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try layer.compressed.withUnsafeBytes { all in
                nonisolated(unsafe) let base = UnsafeRawBufferPointer(rebasing: all[...])
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    guard let decoder = try? FrameDecompressor(codec: layer.codec) else { return failed.set() }
                    for i in stride(from: t, to: layer.frames.count, by: threads) {
                        let f = layer.frames[i]
                        let out = UnsafeMutableRawBufferPointer.allocate(
                            byteCount: Int(f.decodedSize), alignment: 16)
                        defer { out.deallocate() }
                        let input = UnsafeRawBufferPointer(
                            rebasing: base[Int(f.storedOffset)..<Int(f.storedOffset + f.storedSize)])
                        guard Blake2b.hash(input) == f.digest else { return failed.set() }
                        do {
                            try decoder.decode(input, into: out)
                            FrameFilter.run(
                                layer.filter, encoding: false, out, streamSize: layer.uncompressedSize,
                                position: f.decodedOffset)
                        } catch { return failed.set() }
                    }
                }
                if failed.isSet { throw BuildError("layer '\(layer.name)': a frame failed to decode") }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return best
    }
}

private final class FailureFlag: @unchecked Sendable {
    private var value = false
    private let lock = NSLock()
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
