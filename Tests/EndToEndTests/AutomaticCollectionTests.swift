import Foundation
import XCTest
import TestSupport

/// The collection a launch runs by itself (docs/ops.md, "Automatic collection"): two apps share one
/// cache root; records and the stamp are aged with `utimes`, as time would age them.
final class AutomaticCollectionTests: XCTestCase {
    var dir = ""
    var cache = ""
    var ops = ""
    var other = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        cache = dir + "/cache"
        ops = try Harness.makeBundle(
            spec: """
                [bundle]
                name = "ops"
                version = "3.0"
                [layers.a]
                path = "a"
                [layers.b]
                path = "b"
                [entries.ops]
                exec = ["/bin/sh", "{a}/run.sh"]
                default = true
                [entries.hold]
                exec = ["/bin/sh", "{b}/hold.sh"]
                """,
            tree: [
                "a/run.sh": .script("#!/bin/sh\necho run\n"),
                "b/hold.sh": .script("#!/bin/sh\necho holding; exec sleep 60\n"),
            ], in: dir, key: "k", output: "ops")
        // Also says which children it has: the collection's deleting process must not be one.
        try Harness.write(
            "#!/bin/sh\necho other\nread -r kids < /proc/$$/task/$$/children; echo \"children: $kids\" >&2\n",
            to: dir + "/c/x.sh", mode: 0o755)
        try Harness.write(
            "[bundle]\nname = \"other\"\nversion = \"1\"\n[layers.c]\npath = \"c\"\n"
                + "[entries.other]\nexec = [\"/bin/sh\", \"{c}/x.sh\"]\n", to: dir + "/other.toml")
        other = dir + "/other"
        try Harness.tool([
            "build", dir + "/other.toml", "-o", other, "--key", dir + "/k.key", "--stub", Harness.stub, "-q",
        ])
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    var stamp: String { cache + "/gc-stamp" }

    func layerDirs() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: cache + "/layers")) ?? [])
    }

    func records() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: cache + "/bundles")) ?? [])
    }

    /// Runs `other` (its layer c) with `env`, and checks it ran.
    @discardableResult
    func runOther(_ env: [String: String] = [:]) throws -> Harness.Output {
        var e = ["OTHER_LAUNCHER_CACHE_DIR": cache]
        for (k, v) in env { e[k] = v }
        let o = try Harness.run(other, [], env: e)
        XCTAssertEqual(o.stdout, "other\n", o.stderr)
        XCTAssertTrue(o.stderr.hasSuffix("children: \n"), "the app has no child of the launcher's: " + o.stderr)
        return o
    }

    func setMtime(_ path: String, daysAgo: Double) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-daysAgo * 86400)], ofItemAtPath: path)
    }

    func mtime(_ path: String) throws -> Date {
        try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
    }

    /// Starts the `hold` entry of `ops` (which sleeps holding layer b's lock) and waits until it runs.
    func startHolder() throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ops)
        p.environment = ["OPS_LAUNCHER_CACHE_DIR": cache, "OPS_LAUNCHER_ENTRY": "hold", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        _ = out.fileHandleForReading.availableData  // "holding": the runtime is up, holding its lock
        return p
    }

    /// The case: an aged layer is collected by another app's launch, a layer a running
    /// process holds is kept however old, the stamp stops a second collection within the day, the
    /// variable turns it off, and the next due launch collects what the running process let go.
    func testAnAgedLayerIsCollectedWhileARunningOneIsKept() throws {
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: stamp), "the first launch starts the clock")
        let a = try XCTUnwrap(layerDirs().first)
        let holder = try startHolder()
        defer { if holder.isRunning { holder.terminate() } }
        let b = try XCTUnwrap(layerDirs().subtracting([a]).first)
        let opsRecord = try XCTUnwrap(records().first)
        try runOther()
        let c = try XCTUnwrap(layerDirs().subtracting([a, b]).first)
        let otherRecord = try XCTUnwrap(records().subtracting([opsRecord]).first)

        // ops was last used 40 days ago, and the last collection was 2 days ago.
        try setMtime(cache + "/bundles/" + opsRecord, daysAgo: 40)
        try setMtime(stamp, daysAgo: 2)
        let o = try runOther()
        XCTAssertEqual(o.stderr, "children: \n", "a collection says nothing")
        XCTAssertEqual(layerDirs(), [b, c], "a (aged) collected; b (held by a running process) and c (in use) kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/locks/" + a), "its lock file went with it")
        XCTAssertEqual(records(), [opsRecord, otherRecord], "ops's record stays while its layer b does")
        XCTAssertLessThan(abs(try mtime(stamp).timeIntervalSinceNow), 60, "the stamp is the collection's time")
        // The launch only renamed a into tmp/; a detached process deletes it there.
        let deadline = Date().addingTimeInterval(20)
        while !((try? FileManager.default.contentsOfDirectory(atPath: cache + "/tmp")) ?? []).isEmpty,
            Date() < deadline
        {
            usleep(20_000)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache + "/tmp"), [], "deleted")

        // The holder ends: b is unused and old, but the stamp is fresh: nothing more today.
        holder.terminate()
        holder.waitUntilExit()
        try setMtime(cache + "/bundles/" + opsRecord, daysAgo: 40)
        try runOther()
        XCTAssertEqual(layerDirs(), [b, c], "at most one collection a day")

        // Due again, but turned off (both spellings): nothing collected, the stamp left as it is.
        try setMtime(stamp, daysAgo: 2)
        for off in ["off", "0"] {
            try runOther(["OTHER_LAUNCHER_CACHE_GC": off])
            XCTAssertEqual(layerDirs(), [b, c], "OTHER_LAUNCHER_CACHE_GC=\(off)")
        }
        XCTAssertGreaterThan(abs(try mtime(stamp).timeIntervalSinceNow), 86400)

        // On again: b goes now, and so does ops's record (none of its layers is left).
        try runOther()
        XCTAssertEqual(layerDirs(), [c])
        XCTAssertEqual(records(), [otherRecord])
        // ops itself extracts again at its next launch.
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        XCTAssertEqual(layerDirs(), [a, c])
    }

    /// A launch due to collect never collects its own layers, though its record was 40 days old
    /// until this launch; a layer no record names counts from its extraction (the marker's mtime).
    func testTheLaunchingBundleKeepsItsOwnLayersHoweverLongUnused() throws {
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        try runOther()
        let before = layerDirs()
        for r in records() { try setMtime(cache + "/bundles/" + r, daysAgo: 40) }
        try setMtime(stamp, daysAgo: 2)
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        XCTAssertEqual(layerDirs().count, 1, "other's layer went")
        XCTAssertTrue(before.isSuperset(of: layerDirs()), "ops's own layer stayed")
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        XCTAssertEqual(layerDirs().count, 1, "and was not extracted again")
    }

    /// The variable can set the period; a value that is neither off nor a duration is one line
    /// on stderr (only at a launch due to collect) and the 30-day default applies.
    func testTheVariableSetsThePeriodAndAnUnknownValueIsOneLine() throws {
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        let opsLayers = layerDirs()
        let opsRecord = try XCTUnwrap(records().first)
        try runOther()
        try setMtime(cache + "/bundles/" + opsRecord, daysAgo: 3)
        try setMtime(stamp, daysAgo: 2)
        var o = try runOther(["OTHER_LAUNCHER_CACHE_GC": "soon"])
        XCTAssertEqual(
            o.stderr,
            "other: OTHER_LAUNCHER_CACHE_GC=soon is neither off, 0 nor a duration like 30d: collecting layers unused for 30d\n"
                + "children: \n")
        XCTAssertTrue(layerDirs().isSuperset(of: opsLayers), "3 days unused is kept by the 30-day default")
        o = try runOther(["OTHER_LAUNCHER_CACHE_GC": "soon"])
        XCTAssertEqual(o.stderr, "children: \n", "not due: the value is not even read")
        try setMtime(stamp, daysAgo: 2)
        try runOther(["OTHER_LAUNCHER_CACHE_GC": "2d"])
        XCTAssertTrue(layerDirs().isDisjoint(with: opsLayers), "3 days unused is collected with 2d")
    }

    /// What a launch pays when the stamp is fresh (every launch but one a day): one `fstatat` of
    /// the stamp, no directory read; with the variable off, not even that. Seen with strace.
    func testALaunchWithAFreshStampDoesNoCollectionWork() throws {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("strace is not installed") }
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        let opsRecord = try XCTUnwrap(records().first)
        try runOther()
        // ops's layer is old enough to go, but the stamp is an hour old: nothing is collected.
        try setMtime(cache + "/bundles/" + opsRecord, daysAgo: 40)
        try setMtime(stamp, daysAgo: 1.0 / 24)
        let stampTime = try mtime(stamp)
        let before = layerDirs()
        func trace(_ env: [String: String]) throws -> [String] {
            let log = dir + "/trace"
            var e = ["OTHER_LAUNCHER_CACHE_DIR": cache]
            for (k, v) in env { e[k] = v }
            let o = try Harness.run(strace, ["-o", log, other], env: e)
            XCTAssertEqual(o.stdout, "other\n", o.stderr)
            return try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let lines = try trace([:])
        XCTAssertEqual(lines.filter { $0.contains("gc-stamp") }.count, 1, lines.joined(separator: "\n"))
        XCTAssertTrue(
            lines.first { $0.contains("gc-stamp") }?.contains("stat") ?? false, lines.joined(separator: "\n"))
        XCTAssertFalse(lines.contains { $0.hasPrefix("getdents") }, "no directory is read")
        XCTAssertEqual(layerDirs(), before)
        XCTAssertEqual(try mtime(stamp), stampTime)
        let off = try trace(["OTHER_LAUNCHER_CACHE_GC": "off"])
        XCTAssertFalse(off.contains { $0.contains("gc-stamp") }, off.joined(separator: "\n"))
        XCTAssertEqual(layerDirs(), before)
    }

    /// Ages ops's record and the stamp after both apps ran once: the next launch of `other` collects.
    func ageForACollection() throws -> Set<String> {
        XCTAssertEqual(try Harness.run(ops, [], env: ["OPS_LAUNCHER_CACHE_DIR": cache]).stdout, "run\n")
        let opsRecord = try XCTUnwrap(records().first)
        let opsLayers = layerDirs()
        try runOther()
        try setMtime(cache + "/bundles/" + opsRecord, daysAgo: 40)
        try setMtime(stamp, daysAgo: 2)
        return opsLayers
    }

    func waitForEmptyTmp() {
        let deadline = Date().addingTimeInterval(20)
        while !((try? FileManager.default.contentsOfDirectory(atPath: cache + "/tmp")) ?? []).isEmpty,
            Date() < deadline
        {
            usleep(20_000)
        }
    }

    /// A caller that ignores SIGCHLD (inherited through exec: Python's subprocess users, nohup-like
    /// wrappers) must not make the launch delete the layers itself: the detaching fork waits with
    /// SIGCHLD at its default, so the deletion stays in the detached process (review finding).
    func testIgnoredSIGCHLDLeavesTheDeletionToTheDetachedProcess() throws {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("strace is not installed") }
        let opsLayers = try ageForACollection()
        let log = dir + "/trace"
        // strace without -f: only the launcher's own process, which execs the app in place.
        let o = try Harness.run(
            "/usr/bin/python3",
            [
                "-c",
                "import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])",
                strace, "-o", log, other,
            ], env: ["OTHER_LAUNCHER_CACHE_DIR": cache, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(o.stdout, "other\n", o.stderr)
        XCTAssertTrue(layerDirs().isDisjoint(with: opsLayers), "ops's aged layer was collected")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        // The launch removes the collected layer's lock file (locks/<name>), never the layer's own files.
        let deletions = lines.filter { $0.hasPrefix("unlinkat") || $0.hasPrefix("rmdir") }
        XCTAssertFalse(
            deletions.contains { $0.contains("run.sh") || $0.contains(".dgmo-layer") },
            "the launch itself deleted none of the layer's files: " + deletions.joined(separator: "\n"))
        waitForEmptyTmp()
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cache + "/tmp"), [], "deleted in the background")
    }

    /// As PID 1 of a PID namespace (a container's entry point) an orphan would become the app's own
    /// child, never reaped, and what it had not deleted when the container stopped would stay in
    /// tmp/ for good: the launch deletes in place instead, and the app has no child of the launcher's.
    func testAsPIDOneTheLaunchDeletesInPlace() throws {
        guard getuid() == 0 else { throw XCTSkip("unshare --pid needs root") }
        let opsLayers = try ageForACollection()
        let o = try Harness.run(
            "/usr/bin/unshare", ["--pid", "--fork", "--mount-proc", other],
            env: ["OTHER_LAUNCHER_CACHE_DIR": cache, "PATH": "/usr/bin:/bin"])
        XCTAssertEqual(o.stdout, "other\n", o.stderr)
        XCTAssertTrue(o.stderr.hasSuffix("children: \n"), "the app (PID 1) has no child of the launcher's: " + o.stderr)
        XCTAssertTrue(layerDirs().isDisjoint(with: opsLayers), "ops's aged layer was collected")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cache + "/tmp"), [],
            "deleted before the app started: nothing left when the namespace ends")
    }
}
