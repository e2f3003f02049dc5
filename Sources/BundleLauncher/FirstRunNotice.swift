import BundleFormat
import BundleSystem
import BundleRuntime

/// Tells a person at a terminal why the first launch takes a while.
///
/// A cold first run extracts every layer the entry needs (seconds on a busy machine) before
/// anything of the app appears. When stderr is a terminal and extraction has taken more than
/// `announceAfter`, one line names the app and what is being prepared; when it goes on past
/// `barAfter`, a progress bar follows on the next line, redrawn at most 10 times a second and
/// erased before the app starts. Nothing when stderr is not a terminal (scripts and pipes see
/// exactly what they saw before), and never anything on stdout.
final class FirstRunNotice {
    static let announceAfter: Int64 = 300_000_000  // ns
    static let barAfter: Int64 = 800_000_000
    static let redrawEvery: Int64 = 100_000_000

    private let enabled: Bool
    private let appName: String, appVersion: String, cachePath: String
    private var start: Int64 = -1
    private var total: UInt64 = 0
    private var doneBefore: UInt64 = 0
    private var layerName = ""
    private var announced = false
    private var barDrawn = false
    private var lastDraw: Int64 = 0

    init(manifest: Manifest, cachePath: String) {
        enabled = Sys.isTerminal(.error)
        appName = manifest.appName
        appVersion = manifest.appVersion
        self.cachePath = cachePath
    }

    /// A layer is about to be extracted: returns the callback `LayerExtractor` reports its bytes to.
    func layer(_ layer: LayerRecord) -> ((UInt64) -> Void)? {
        guard enabled else { return nil }
        if start < 0 { start = FirstRunNotice.now() }
        doneBefore = total
        total += layer.uncompressedSize
        layerName = layer.name
        let base = doneBefore
        return { [self] written in self.update(base + written) }
    }

    /// Erases the bar (the announcement line stays) before the app takes over the terminal.
    func finish() {
        guard enabled, barDrawn else { return }
        writeOut(.error, "\r\u{1B}[K")
        barDrawn = false
    }

    private func update(_ done: UInt64) {
        let elapsed = FirstRunNotice.now() - start
        guard elapsed >= FirstRunNotice.announceAfter else { return }
        if !announced {
            announced = true
            writeOut(
                .error,
                "\(programName): preparing \(appName) \(appVersion) for its first run: unpacking '\(layerName)' (\(formatSize(total))) into \(TerminalText.escaped(cachePath))\n"
            )
            return
        }
        guard elapsed >= FirstRunNotice.barAfter else { return }
        let now = FirstRunNotice.now()
        guard now - lastDraw >= FirstRunNotice.redrawEvery || done >= total else { return }
        lastDraw = now
        let width = 30
        let filled = total == 0 ? width : Int(min(done, total) * UInt64(width) / total)
        let percent = total == 0 ? 100 : Int(min(done, total) * 100 / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        writeOut(.error, "\r[\(bar)] \(percent)% \(formatSize(done)) of \(formatSize(total))\u{1B}[K")
        barDrawn = true
    }

    static func now() -> Int64 { Sys.monotonicNanoseconds() }
}
