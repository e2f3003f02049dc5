import Foundation
import XCTest
import TestSupport

/// Concurrent launches, kills mid-extraction, full and noexec filesystems, cleaners, read-only
/// system caches: each layer is absent or complete and correct, and each launch runs the right
/// code or fails with a clear message. Real processes, signals and filesystems, no mocks.
final class ReliabilityTests: XCTestCase {
    var dir = ""
    var binary = ""
    let app = "rel"

    /// A ~4 MiB layer of 400 files (so extraction takes a while) with a script that checks itself.
    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        var rng = SplitMix64.seeded(0x4E11_AB1E, for: name)
        for i in 0..<400 {
            let bytes = rng.bytes(10_000)
            let sub = dir + "/tree/d\(i % 20)"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: sub + "/f\(i)"))
        }
        binary = try Harness.makeBundle(
            spec:
                "[bundle]\nname = \"\(app)\"\nversion = \"1\"\n[layers.tree]\npath = \"tree\"\ncompression = \"xz\"\nlevel = 1\n[entries.rel]\nexec = [\"/bin/sh\", \"{tree}/run.sh\"]\n",
            tree: [
                "tree/run.sh": .script("#!/bin/sh\necho \"ok $#\"\n[ $# -gt 0 ] && [ \"$1\" = cat ] && cat\nexit 0\n")
            ], in: dir, key: "k", output: "rel")
    }

    override func tearDownWithError() throws {
        _ = try? Harness.run("/bin/umount", ["-l", dir + "/mnt"])
        try? FileManager.default.removeItem(atPath: dir)
    }

    func launch(cache: String, _ args: [String] = [], stdin: String? = nil) throws -> Harness.Output {
        try Harness.run(binary, args, env: ["REL_LAUNCHER_CACHE_DIR": cache], stdin: stdin)
    }

    /// The extracted layer is byte-for-byte the source tree, and nothing else is in the cache.
    func assertCacheHoldsExactlyTheLayer(_ cache: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let layers = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")
        XCTAssertEqual(layers.count, 1, "\(layers)", file: file, line: line)
        let diff = try Harness.run(
            "/usr/bin/diff", ["-r", "-x", ".dgmo-layer", dir + "/tree", cache + "/layers/" + layers[0]])
        XCTAssertEqual(diff.status, 0, diff.stdout, file: file, line: line)
    }

    func mount(_ options: String) throws -> String {
        let mnt = dir + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let m = try Harness.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", mnt])
        guard m.status == 0 else { throw XCTSkip("cannot mount a tmpfs here (\(m.stderr)); run the tests as root") }
        return mnt
    }

    func testConcurrentFirstLaunchesAllSucceedAndCommitOnce() throws {
        let single = Date()
        XCTAssertEqual(try launch(cache: dir + "/one").stdout, "ok 0\n")
        let singleTime = Date().timeIntervalSince(single)

        let cache = dir + "/many"
        let group = DispatchGroup()
        let results = Locked<[Harness.Output]>([])
        let started = Date()
        for _ in 0..<32 {
            group.enter()
            Thread.detachNewThread { [binary] in
                if let o = try? Harness.run(binary, [], env: ["REL_LAUNCHER_CACHE_DIR": cache]) {
                    results.mutate { $0.append(o) }
                }
                group.leave()
            }
        }
        group.wait()
        let wall = Date().timeIntervalSince(started)
        print(String(format: "32 concurrent cold launches: %.3f s wall; one cold launch: %.3f s", wall, singleTime))
        let all = results.value
        XCTAssertEqual(all.count, 32)
        for o in all { XCTAssertEqual(o.status, 0, o.stderr); XCTAssertEqual(o.stdout, "ok 0\n") }
        try assertCacheHoldsExactlyTheLayer(cache)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cache + "/tmp"), [], "losers must discard their copies")
    }

    func testKilledExtractionsNeverLeaveAUsableHalfLayer() throws {
        let cache = dir + "/killed"
        // The extraction's duration: the fastest of three cold launches (the first one also pays
        // for reading the binary into the page cache, which would stretch the kill schedule).
        var span = Double.infinity
        for i in 0..<3 {
            let t0 = Date()
            XCTAssertEqual(try launch(cache: dir + "/timing\(i)").status, 0)
            span = min(span, Date().timeIntervalSince(t0))
        }
        span = max(span, 0.05)
        let trials = Int(ProcessInfo.processInfo.environment["KILL_TRIALS"] ?? "200") ?? 200
        var killedMidway = 0
        for trial in 0..<trials {
            try? FileManager.default.removeItem(atPath: cache + "/layers")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.environment = ["REL_LAUNCHER_CACHE_DIR": cache, "PATH": "/usr/bin:/bin"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Spread the kills over the whole extraction and a little past it.
            usleep(useconds_t(span * 1.5 * 1_000_000 * Double(trial) / Double(trials)))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); killedMidway += 1 }
            p.waitUntilExit()
            // Whatever state the kill left, the next launch runs correctly.
            let o = try launch(cache: cache)
            XCTAssertEqual(o.stdout, "ok 0\n", "trial \(trial): \(o.stderr)")
            if o.stdout != "ok 0\n" { break }
        }
        print(
            "kill trials: \(trials), killed while running: \(killedMidway), extraction span \(String(format: "%.3f", span)) s"
        )
        // Timing on a shared machine is noisy; what matters is that a good share of kills landed mid-way.
        XCTAssertGreaterThan(killedMidway, trials / 10, "kills should land during extraction")
        try assertCacheHoldsExactlyTheLayer(cache)
        // Leftovers of killed launches were cleaned up by later cold launches.
        try FileManager.default.removeItem(atPath: cache + "/layers")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.environment = ["REL_LAUNCHER_CACHE_DIR": cache]
        try p.run(); usleep(useconds_t(span * 500_000)); kill(p.processIdentifier, SIGKILL); p.waitUntilExit()
        XCTAssertEqual(try launch(cache: cache).stdout, "ok 0\n")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cache + "/tmp"), [],
            "abandoned temporary directories remain")
    }

    func testDiskFullFailsCleanlyAndALaterLaunchSucceeds() throws {
        let mnt = try mount("size=1m,mode=0700")
        let o = try launch(cache: mnt + "/cache")
        XCTAssertEqual(o.status, 125)
        XCTAssertTrue(o.stderr.contains("no space left on device"), o.stderr)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mnt + "/cache/layers"), [])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: mnt + "/cache/tmp"), [], "a half-written layer was left"
        )
        XCTAssertEqual(try Harness.run("/bin/mount", ["-o", "remount,size=64m", mnt]).status, 0)
        XCTAssertEqual(try launch(cache: mnt + "/cache").stdout, "ok 0\n")
        try assertCacheHoldsExactlyTheLayer(mnt + "/cache")
    }

    func testNoexecCacheIsDetectedBeforeExtracting() throws {
        let mnt = try mount("size=64m,noexec,mode=0700")
        let o = try launch(cache: mnt + "/cache")
        XCTAssertEqual(o.status, 125)
        XCTAssertTrue(o.stderr.contains("noexec") && o.stderr.contains("REL_LAUNCHER_CACHE_DIR"), o.stderr)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: mnt + "/cache/layers")) ?? [], [])
    }

    func testCleanerDeletingTheProgramTriggersReextraction() throws {
        let cache = dir + "/cleaned"
        XCTAssertEqual(try launch(cache: cache).stdout, "ok 0\n")
        let layer = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")[0]
        try FileManager.default.removeItem(atPath: cache + "/layers/" + layer + "/run.sh")
        try FileManager.default.removeItem(atPath: cache + "/layers/" + layer + "/d3")
        let o = try launch(cache: cache)
        XCTAssertEqual(o.stdout, "ok 0\n", o.stderr)
        try assertCacheHoldsExactlyTheLayer(cache)
    }

    func testReadOnlySystemCacheIsUsedWithoutWriting() throws {
        // Fill a user cache, then install its layer the way a distro package would.
        let cache = dir + "/filled"
        XCTAssertEqual(try launch(cache: cache).status, 0)
        let layer = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")[0]
        let system = "/var/cache/\(app)-launcher"
        try? FileManager.default.removeItem(atPath: system)
        defer { try? FileManager.default.removeItem(atPath: system) }
        try FileManager.default.createDirectory(atPath: system + "/layers", withIntermediateDirectories: true)
        XCTAssertEqual(try Harness.run("/bin/cp", ["-a", cache + "/layers/" + layer, system + "/layers/"]).status, 0)
        XCTAssertEqual(try Harness.run("/bin/chmod", ["-R", "a+rX,a-w", system, dir]).status, 0)
        defer { _ = try? Harness.run("/bin/chmod", ["-R", "u+w", dir]) }
        // An unprivileged user whose cache directory cannot even be created.
        let o = try Harness.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary],
            env: ["REL_LAUNCHER_CACHE_DIR": "/proc/no-such-dir/cache"])
        XCTAssertEqual(o.stdout, "ok 0\n", o.stderr)
    }

    /// A user cache that cannot be written (here a read-only bind mount, so even root cannot
    /// write) and has no lock files: its complete layer is used as it is, nothing is written.
    func testReadOnlyUserCacheWithoutLockFilesIsUsed() throws {
        let cache = dir + "/filled"
        XCTAssertEqual(try launch(cache: cache).status, 0)
        try FileManager.default.removeItem(atPath: cache + "/locks")
        let ro = dir + "/ro"
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        guard try Harness.run("/bin/mount", ["--bind", cache, ro]).status == 0 else {
            throw XCTSkip("cannot bind-mount here; run as root")
        }
        defer { _ = try? Harness.run("/bin/umount", ["-l", ro]) }
        XCTAssertEqual(try Harness.run("/bin/mount", ["-o", "remount,bind,ro", ro]).status, 0)
        XCTAssertFalse(
            FileManager.default.createFile(atPath: ro + "/probe", contents: nil), "the mount must be read-only")
        let before = try Harness.run("/usr/bin/find", [cache, "-newer", cache + "/layers", "-print"]).stdout
        let o = try launch(cache: ro)
        XCTAssertEqual(o.stdout, "ok 0\n", o.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/locks"), "nothing written")
        XCTAssertEqual(try Harness.run("/usr/bin/find", [cache, "-newer", cache + "/layers", "-print"]).stdout, before)
    }

    func testStdinAndArgumentsReachTheRuntime() throws {
        let o = try launch(cache: dir + "/stdin", ["cat"], stdin: "piped input\n")
        XCTAssertEqual(o.stdout, "ok 1\npiped input\n", o.stderr)
    }
}

/// A value shared between test threads.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}
