import BundleFormat
import BundleSystem

/// The collection a launch runs by itself (docs/ops.md, "Automatic collection"): the cache would
/// otherwise only grow, since nobody runs `cache gc` by hand.
///
/// At most once a day per cache root, decided by the mtime of the stamp `<root>/gc-stamp` (the
/// last automatic collection): a launch whose stamp is younger than a day pays one `fstatat`.
/// A due launch takes an exclusive `flock` on the stamp without waiting (a concurrent launch that
/// cannot get it leaves the collection to the other), sets the stamp's mtime to now first (a
/// collection that fails is not retried at every launch), then runs gc's own code: the same
/// exclusive layer locks, so a layer a running process holds is never removed, and the same
/// rename into `tmp/` before deleting, so no launch ever sees half a layer. Deleting is what takes
/// time (seconds for a 54 MiB layer on a busy disk, docs/benchmarks.md): the launch only renames,
/// and a detached process deletes (`Sys.detach`), so the app starts at once.
extension CacheRoot {
    /// The stamp's name in the cache root.
    public static let collectionStampName = "gc-stamp"
    /// How often a launch collects: once a day.
    public static let collectionInterval: Int64 = 86400
    /// Layers no bundle used for this long are collected (`cache gc`'s default `--older-than`).
    public static let collectionDefaultAge: Int64 = 30 * 86400

    /// Whether the last automatic collection is a day old or more: one `fstatat` in the root.
    /// A missing stamp is made (now) and the answer is no: a new cache has nothing to collect, and
    /// an older cache gets its first collection a day later. A stamp dated in the future (a clock
    /// set back) is due. Anything but a regular file of ours there is never due: nothing is touched.
    public func collectionIsDue(now: Int64) -> Bool {
        let name = Array(CacheRoot.collectionStampName.utf8)
        guard let st = try? Sys.fstatat(fd, name, follow: false) else {
            // Missing (nil) or unreadable: make it; in a cache we cannot write this fails quietly.
            if let made = try? Sys.openat(fd, name, .readOnly | .create | .noFollow | .nonBlocking, 0o600) {
                made.close()
            }
            return false
        }
        guard st.type == .regular, Ownership.isTrusted(st) else { return false }
        let age = Durations.age(now: now, since: st.modifiedSeconds)
        return age < 0 || age >= CacheRoot.collectionInterval
    }

    /// Collects layers unused for `olderThan` (keeping none by count: `cache gc --keep 0`), never
    /// one of `sparing` nor one in use. Returns nil when it did not run: another launch holds the
    /// stamp, the stamp was renewed meanwhile, or the cache cannot be written (the stamp's time
    /// cannot be set: a read-only mount, or root's cache seen by a user). Sizes are not measured.
    @discardableResult
    public func collectNow(now: Int64, olderThan: Int64, sparing: [String]) -> (removed: [String], failed: [String])? {
        let name = Array(CacheRoot.collectionStampName.utf8)
        guard let stamp = try? Sys.openat(fd, name, .readOnly | .create | .noFollow | .nonBlocking, 0o600),
            (try? Sys.lock(stamp, .exclusive, wait: false, what: CacheRoot.collectionStampName)) != nil,
            let st = try? Sys.fstat(stamp), st.type == .regular, Ownership.isTrusted(st)
        else { return nil }
        // Renewed by a launch that collected while we looked: nothing to do today.
        let age = Durations.age(now: now, since: st.modifiedSeconds)
        guard age < 0 || age >= CacheRoot.collectionInterval else { return nil }
        guard (try? Sys.touchat(fd, CacheRoot.collectionStampName)) != nil else { return nil }
        let (_, removed, _, failed) = collect(
            now: now, olderThan: olderThan, keep: 0, dryRun: false, measure: false, sparing: sparing,
            deferring: true)
        stamp.close()
        if !removed.isEmpty { deleteSetAsideDetached() }
        return (removed, failed)
    }

    /// Deletes the layers this process set aside (`tmp/<name16>.<our pid>.<random>.auto`) in a
    /// detached grandchild, which then exits; here when none can be started (Windows).
    func deleteSetAsideDetached() {
        let pid = String(Sys.processID())
        guard let tmpDir = try? directory(.tmp, create: false) else { return }
        switch Sys.detach(keeping: tmpDir.fd) {
        case .caller: return
        case .grandchild:
            deleteSetAside(pid: pid)
            Sys.exit(0)
        case .failed: deleteSetAside(pid: pid)
        }
    }

    /// Deletes `tmp/<name16>.<pid>.<random>.auto` of the given pid (the launch that set them aside).
    public func deleteSetAside(pid: String) {
        guard let tmpDir = try? directory(.tmp, create: false) else { return }
        for name in (try? Sys.listDirectoryBytes(tmpDir.fd)) ?? [] {
            let parts = name.split(separator: 0x2E)
            guard parts.count == 4, Array(parts[1]) == Array(pid.utf8), Array(parts[3]) == Array("auto".utf8) else {
                continue
            }
            try? TreeWalk.removeTree(tmpDir.fd, name)
        }
    }
}
