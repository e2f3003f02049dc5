import BundleFormat
import BundleCrypto
import BundleRuntime
import BundleCache
import BundleSystem

/// The collection a launch runs by itself, at most once a day (docs/ops.md, "Automatic
/// collection"; the mechanics are `CacheRoot.collectionIsDue` and `collectNow`). It never stops
/// the app: whatever goes wrong is left for the next day, silently, and the only line it can print
/// is about a variable the user set to something it does not understand.
extension Launcher {
    /// `<APP>_CACHE_GC`: `off` or `0` turns the collection off; a duration (`7d`) sets how long a
    /// layer must have gone unused. The one place that names the variable's prefix.
    public static func collectionVariable(_ manifest: Manifest) -> String {
        manifest.environmentPrefix + "_CACHE_GC"
    }

    /// What `<APP>_CACHE_GC` asks for: `age` nil when off; `complaint` set for a value that is
    /// neither off nor a duration (the default age is used then).
    static func collectionSetting(_ value: String?, variable: String) -> (age: Int64?, complaint: String?) {
        guard let value, !value.isEmpty else { return (CacheRoot.collectionDefaultAge, nil) }
        if value.bytesEqual("off") || value.bytesEqual("0") { return (nil, nil) }
        if let age = Durations.parse(value) { return (age, nil) }
        return (
            CacheRoot.collectionDefaultAge,
            "\(variable)=\(value) is neither off, 0 nor a duration like 30d: collecting layers unused for 30d"
        )
    }

    /// Called once the launch's layers are locked and its bundle record touched (so nothing it is
    /// about to run can be collected), before the hand-off. When the stamp is fresh (every launch
    /// but one a day): one `getenv` and one `fstatat`. The read-only system cache is never touched.
    public static func collectIfDue(_ cache: CacheRoot?, bundle: BundleFile) {
        guard let cache else { return }
        let manifest = bundle.manifest
        let variable = collectionVariable(manifest)
        let value = Sys.getenv(variable)
        if let value, value.bytesEqual("off") || value.bytesEqual("0") { return }
        let now = Sys.now()
        guard cache.collectionIsDue(now: now),
            !cache.path.bytesEqual(SystemCache.root(cacheName: manifest.cacheName))
        else { return }
        let setting = collectionSetting(value, variable: variable)
        if let complaint = setting.complaint {
            writeOut(.error, TerminalText.escaped("\(programName): \(complaint)") + "\n")
        }
        guard let age = setting.age else { return }
        cache.collectNow(now: now, olderThan: age, sparing: manifest.layers.map { $0.cacheName })
    }
}
