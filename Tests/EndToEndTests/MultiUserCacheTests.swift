import Foundation
import XCTest

/// A hostile second user on the same machine, for real: each test creates two users (`useradd`),
/// a victim who launches the bundle and an attacker who tries what issue 11 lists, each with its
/// own uid (`setpriv`), since root ignores permissions and a test run as root alone proves
/// nothing. The shared directory is root-owned and sticky, like `/tmp`, and is what the victim
/// configured as the cache (`<APP>_CACHE_DIR=/tmp` in a CI job). The users are deleted in
/// tearDown. Needs root (to create users); skipped otherwise.
final class MultiUserCacheTests: XCTestCase {
    struct User { var name: String; var uid: Int; var gid: Int }
    var dir = ""
    var shared = ""
    var victim = User(name: "", uid: 0, gid: 0)
    var attacker = User(name: "", uid: 0, gid: 0)
    let app = "mucache"
    /// The cache directory's name a bundle built from a spec without `cache-name` has.
    let cacheName = "mucache-launcher"
    var v1 = "", v2 = ""
    var background: [Process] = []

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("creating users needs root") }
        dir = try Harness.makeTempDir()
        chmod(dir, 0o755)
        shared = dir + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        chmod(shared, 0o1777)
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        victim = try makeUser("mucv" + tag)
        attacker = try makeUser("muca" + tag)
        try Harness.tool(["keygen", dir + "/k"])
        v1 = try build("1", output: "v1")
        v2 = try build("2", output: "v2")
    }

    override func tearDownWithError() throws {
        for p in background where p.isRunning { p.terminate(); p.waitUntilExit() }
        for u in [victim, attacker] where !u.name.isEmpty { _ = try? Harness.run("/usr/sbin/userdel", [u.name]) }
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    func makeUser(_ name: String) throws -> User {
        let r = try Harness.run(
            "/usr/sbin/useradd",
            ["--no-create-home", "--no-user-group", "--gid", "nogroup", "--shell", "/usr/sbin/nologin", name])
        guard r.status == 0 else { throw XCTSkip("useradd failed: \(r.stderr)") }
        let uid =
            Int(try Harness.run("/usr/bin/id", ["-u", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            ?? -1
        let gid =
            Int(try Harness.run("/usr/bin/id", ["-g", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            ?? -1
        return User(name: name, uid: uid, gid: gid)
    }

    /// A bundle whose program prints its version; v1 and v2 share the app name (and cache).
    func build(_ version: String, output: String) throws -> String {
        try Harness.write("#!/bin/sh\necho v\(version)\n", to: dir + "/src\(version)/run.sh", mode: 0o755)
        try Harness.write(
            "[bundle]\nname = \"\(app)\"\nversion = \"\(version)\"\n[layers.l]\npath = \"src\(version)\"\n[entries.mucache]\nexec = [\"/bin/sh\", \"{l}/run.sh\"]\n",
            to: dir + "/\(output).toml")
        let binary = dir + "/" + output
        try Harness.tool([
            "build", dir + "/\(output).toml", "-o", binary, "--key", dir + "/k.key", "--stub", Harness.stub, "-q",
        ])
        chmod(binary, 0o755)
        return binary
    }

    func asUser(
        _ u: User, _ program: String, _ args: [String] = [], env: [String: String] = [:], timeout: TimeInterval = 60
    ) throws -> Harness.Output {
        try Harness.run(
            "/usr/bin/setpriv", ["--reuid=\(u.uid)", "--regid=\(u.gid)", "--clear-groups", "--", program] + args,
            env: ["HOME": dir].merging(env) { $1 }, timeout: timeout)
    }

    /// The victim launches with the shared directory as its cache.
    func launch(_ binary: String, timeout: TimeInterval = 60) throws -> Harness.Output {
        try asUser(victim, binary, env: ["MUCACHE_LAUNCHER_CACHE_DIR": shared], timeout: timeout)
    }

    /// The layer's directory name in a cache (its cache name, `--launcher info --json`).
    func layerDigest(_ binary: String) throws -> String {
        let o = try Harness.run(
            binary, ["--launcher", "info", "--json"], env: ["MUCACHE_LAUNCHER_CACHE_DIR": dir + "/unused"])
        let json = try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any]
        let layers = json?["layers"] as? [[String: Any]]
        return try XCTUnwrap(layers?.first?["cacheName"] as? String)
    }

    /// What the attacker prepares: a directory of theirs, writable by all, where the victim's
    /// cache puts `name` when the shared directory itself is the cache root.
    func attackerDirectory(_ name: String) throws -> String {
        let path = shared + "/" + name
        XCTAssertEqual(try asUser(attacker, "/bin/mkdir", ["-m", "777", path]).status, 0)
        return path
    }

    /// Removes what the victim's launches left, keeping the attacker's planted objects.
    func resetVictimCache(owner: Int) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: shared)) ?? [] {
            var st = stat()
            guard lstat(shared + "/" + name, &st) == 0, Int(st.st_uid) == owner else { continue }
            try? FileManager.default.removeItem(atPath: shared + "/" + name)
        }
    }

    // MARK: attacks

    /// Race: the attacker watches `tmp/` with inotify and, the moment the victim's extraction
    /// directory appears, renames it away and puts a directory of theirs (with a marker and a
    /// payload) under its name, so that the victim's publishing rename moves the attacker's tree
    /// into `layers/`. Repeated 30 times; the victim must never run the payload. (Before the
    /// BundleCache module, most of the 30 launches ran it.)
    func testAttackerSwappingTmpBeforePublishNeverRunsAsTheVictim() throws {
        let tmp = try attackerDirectory("tmp")
        let watcher = dir + "/watch.py"
        try Harness.write(
            """
            import ctypes, os, struct, sys
            libc = ctypes.CDLL(None, use_errno=True)
            tmp, ready = sys.argv[1], sys.argv[2]
            fd = libc.inotify_init()
            assert libc.inotify_add_watch(fd, tmp.encode(), 0x100) >= 0   # IN_CREATE
            open(ready, "w").close()
            while True:
                buf = os.read(fd, 65536); i = 0
                while i < len(buf):
                    wd, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
                    name = buf[i + 16:i + 16 + ln].rstrip(b"\\0").decode(); i += 16 + ln
                    if not mask & 0x40000000 or name.endswith(".orig"): continue   # IN_ISDIR
                    p = os.path.join(tmp, name)
                    try:
                        os.rename(p, p + ".orig"); os.mkdir(p, 0o755)
                        with open(p + "/run.sh", "w") as f: f.write("#!/bin/sh\\necho PWNED\\n")
                        os.chmod(p + "/run.sh", 0o755)
                        with open(p + "/.dgmo-layer", "w") as f: f.write("x\\n")
                    except OSError:
                        pass
            """, to: watcher, mode: 0o755)
        let own = dir + "/attacker"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        XCTAssertEqual(chown(own, uid_t(attacker.uid), gid_t(attacker.gid)), 0)
        let ready = own + "/ready"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = [
            "--reuid=\(attacker.uid)", "--regid=\(attacker.gid)", "--clear-groups", "--", "/usr/bin/python3", watcher,
            tmp, ready,
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        background.append(p)
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: ready) && Date() < deadline { usleep(10_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: ready), "the watcher started")
        // The victim here is root, the worst case (and the one where the publishing rename of
        // a directory the attacker owns is allowed); the attacker is the unprivileged second user.
        var outputs: [String] = []
        for _ in 0..<30 {
            resetVictimCache(owner: 0)
            let o = try Harness.run(v1, [], env: ["MUCACHE_LAUNCHER_CACHE_DIR": shared])
            outputs.append(o.stdout + o.stderr)
        }
        XCTAssertFalse(
            outputs.contains { $0.contains("PWNED") },
            "the victim ran the attacker's payload: \(outputs.filter { $0.contains("PWNED") }.count) of \(outputs.count)"
        )
        XCTAssertEqual(outputs.filter { $0 == "v1\n" }.count, outputs.count, outputs.joined(separator: " | "))
    }

    /// The attacker owns `layers/` and renames v2's layer to v1's digest: v1 must still run v1.
    func testRenamedPublishedLayersDoNotMakeV1RunV2() throws {
        let layers = try attackerDirectory("layers")
        XCTAssertEqual(try launch(v1).stdout, "v1\n")
        XCTAssertEqual(try launch(v2).stdout, "v2\n")
        let d1 = try layerDigest(v1), d2 = try layerDigest(v2)
        _ = try asUser(
            attacker, "/bin/sh", ["-c", "mv \(layers)/\(d1) \(layers)/old; mv \(layers)/\(d2) \(layers)/\(d1)"])
        let o = try launch(v1)
        XCTAssertEqual(o.stdout, "v1\n", o.stderr)
        // The victim's private root is out of the attacker's reach altogether.
        let root = shared + "/\(cacheName)-\(victim.uid)"
        XCTAssertNotEqual(try asUser(attacker, "/bin/ls", [root]).status, 0, "the attacker can list the victim's cache")
        var st = stat()
        XCTAssertEqual(lstat(root, &st), 0)
        XCTAssertEqual(Int(st.st_uid), victim.uid)
        XCTAssertEqual(st.st_mode & 0o7777, 0o700)
    }

    /// A FIFO where the victim's lock file goes: opening it for reading would wait for a writer
    /// forever. The launch must not hang (a timeout, not a hang, fails this test).
    func testFIFOWhereALockFileGoesDoesNotHangTheLaunch() throws {
        let locks = try attackerDirectory("locks")
        let d1 = try layerDigest(v1)
        XCTAssertEqual(try asUser(attacker, "/usr/bin/mkfifo", ["-m", "666", locks + "/" + d1]).status, 0)
        let started = Date()
        let o = try launch(v1, timeout: 20)
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "the launch hung on the FIFO")
        XCTAssertEqual(o.stdout, "v1\n", o.stderr)
    }

    /// Symlinks planted for `locks/` and `bundles/` point into a directory of the victim's: the
    /// launcher must create nothing there.
    func testSymlinksForLocksOrBundlesAreNotWrittenThrough() throws {
        let target = dir + "/victim-files"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        XCTAssertEqual(chown(target, uid_t(victim.uid), gid_t(victim.gid)), 0)
        chmod(target, 0o700)
        for name in ["locks", "bundles"] {
            XCTAssertEqual(try asUser(attacker, "/bin/ln", ["-s", target, shared + "/" + name]).status, 0)
        }
        let o = try launch(v1)
        XCTAssertEqual(o.stdout, "v1\n", o.stderr)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: target), [],
            "the launcher wrote through the attacker's symlink")
    }

    /// The attacker creates the victim's per-user directory first: it is checked by descriptor,
    /// found to be someone else's, and refused with one line; nothing of the attacker's runs.
    func testSquattedPerUserDirectoryIsRefusedWithOneLine() throws {
        let root = try attackerDirectory("\(cacheName)-\(victim.uid)")
        XCTAssertEqual(try asUser(attacker, "/bin/sh", ["-c", "mkdir -m 777 \(root)/layers \(root)/tmp"]).status, 0)
        let o = try launch(v1)
        XCTAssertEqual(o.status, 125, o.stdout)
        XCTAssertTrue(o.stderr.contains("owned by uid \(attacker.uid)") && o.stderr.contains(root), o.stderr)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        XCTAssertFalse(o.stdout.contains("v1"))
    }

    /// A system cache whose `layers/` another user owns (a careless package) could have had
    /// its layers swapped: it is not used. Here the attacker makes v1's digest name v2's tree.
    func testSystemCacheNotOwnedByRootAtEveryLevelIsNotUsed() throws {
        // Fill a cache as root, then lay it out as the system cache with an attacker-owned layers/.
        let filled = dir + "/filled"
        XCTAssertEqual(try Harness.run(v1, [], env: ["MUCACHE_LAUNCHER_CACHE_DIR": filled]).stdout, "v1\n")
        XCTAssertEqual(try Harness.run(v2, [], env: ["MUCACHE_LAUNCHER_CACHE_DIR": filled]).stdout, "v2\n")
        let system = "/var/cache/\(cacheName)"
        try? FileManager.default.removeItem(atPath: system)
        defer { try? FileManager.default.removeItem(atPath: system) }
        try FileManager.default.createDirectory(atPath: system + "/layers", withIntermediateDirectories: true)
        let d1 = try layerDigest(v1), d2 = try layerDigest(v2)
        XCTAssertEqual(
            try Harness.run("/bin/cp", ["-a", filled + "/layers/" + d1, filled + "/layers/" + d2, system + "/layers/"])
                .status, 0)
        XCTAssertEqual(try Harness.run("/bin/chmod", ["-R", "a+rX,go-w", system]).status, 0)
        XCTAssertEqual(chown(system + "/layers", uid_t(attacker.uid), gid_t(attacker.gid)), 0)
        _ = try asUser(
            attacker, "/bin/sh",
            ["-c", "mv \(system)/layers/\(d1) \(system)/layers/old; mv \(system)/layers/\(d2) \(system)/layers/\(d1)"])
        // The victim cannot create a cache of its own, so only the system cache could serve it.
        let o = try asUser(victim, v1, env: ["MUCACHE_LAUNCHER_CACHE_DIR": "/proc/no-such-dir/cache"])
        XCTAssertFalse(o.stdout.contains("v2"), "v1 ran v2's tree from an untrusted system cache")
        XCTAssertEqual(o.status, 125, o.stdout)
    }

    /// An honest build of a tree holding a directory of mode 0o000 records that mode (the builder
    /// keeps `mode & 0o755`). Extracted as such, the victim's own layer could not be read by
    /// `cache verify` (reported DAMAGED) nor removed by `cache clear` (which moved it to `tmp/`,
    /// left it there for good and said "removed 0"). The owner keeps r-x on what it extracts.
    func testLayerWithADirectoryOfMode000CanBeVerifiedAndCleared() throws {
        try Harness.write("#!/bin/sh\necho locked\n", to: dir + "/srcL/run.sh", mode: 0o755)
        try Harness.write("x\n", to: dir + "/srcL/locked/inner/f")
        chmod(dir + "/srcL/locked", 0)
        defer { chmod(dir + "/srcL/locked", 0o755) }
        try Harness.write(
            "[bundle]\nname = \"\(app)\"\nversion = \"3\"\n[layers.l]\npath = \"srcL\"\n[entries.mucache]\nexec = [\"/bin/sh\", \"{l}/run.sh\"]\n",
            to: dir + "/locked.toml")
        let binary = dir + "/locked"
        try Harness.tool([
            "build", dir + "/locked.toml", "-o", binary, "--key", dir + "/k.key", "--stub", Harness.stub, "-q",
        ])
        chmod(binary, 0o755)
        XCTAssertEqual(try launch(binary).stdout, "locked\n")
        let env = ["MUCACHE_LAUNCHER_CACHE_DIR": shared]
        let verify = try asUser(victim, binary, ["--launcher", "cache", "verify"], env: env)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        let clear = try asUser(victim, binary, ["--launcher", "cache", "clear"], env: env)
        XCTAssertEqual(clear.status, 0, clear.stdout + clear.stderr)
        XCTAssertTrue(clear.stdout.contains("removed 1 layer"), clear.stdout)
        let root = shared + "/\(cacheName)-\(victim.uid)"
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/layers"), [])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: root + "/tmp"), [], "a layer was left behind in tmp/")
    }

    /// `--launcher extract DIR` into a shared directory where the attacker made DIR first: an
    /// empty directory of theirs, or a symlink to one. Either way the files would have landed
    /// where the attacker can change them before the victim runs them; both are refused with
    /// one line and nothing is written there. A new DIR of the victim's own still works.
    func testExtractIntoADirectoryAnotherUserPreparedIsRefused() throws {
        let planted = try attackerDirectory("out")
        let target = try attackerDirectory("target")
        XCTAssertEqual(try asUser(attacker, "/bin/ln", ["-s", target, shared + "/out2"]).status, 0)
        for dest in [planted, shared + "/out2"] {
            let o = try asUser(victim, v1, ["--launcher", "extract", dest])
            XCTAssertEqual(o.status, 125, "\(dest): \(o.stdout)")
            XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: planted), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), [])
        let mine = try asUser(victim, v1, ["--launcher", "extract", shared + "/victim-out"])
        XCTAssertEqual(mine.status, 0, mine.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: shared + "/victim-out/l/run.sh"))
    }

    /// The victim's cache directory already holds a sticky, world-writable `tmp/` it does not own
    /// (like `/` or `/var` when used as a cache root), with another user's file named like an
    /// abandoned extraction (`a.<dead pid>.b`). The launch is refused with one line; before, it
    /// extracted into the shared `tmp/` (and, run as root, deleted such files as abandoned:
    /// BundleCacheTests.testTheCachesOwnDirectoriesAreNeverSharedEvenWhenSticky).
    func testASharedStickyTmpInsideTheCacheIsRefusedAndOthersFilesAreKept() throws {
        let root = dir + "/victim-root"
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        XCTAssertEqual(chown(root, uid_t(victim.uid), gid_t(victim.gid)), 0)
        chmod(root, 0o700)
        chmod(root + "/tmp", 0o1777)
        XCTAssertTrue(
            FileManager.default.createFile(atPath: root + "/tmp/report.999999.txt", contents: Data("theirs".utf8)))
        XCTAssertEqual(chown(root + "/tmp/report.999999.txt", uid_t(attacker.uid), gid_t(attacker.gid)), 0)
        let o = try asUser(victim, v1, env: ["MUCACHE_LAUNCHER_CACHE_DIR": root])
        XCTAssertEqual(o.status, 125, o.stdout)
        XCTAssertTrue(o.stderr.contains(root + "/tmp is writable by other users"), o.stderr)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: root + "/tmp/report.999999.txt"), "another user's file was deleted")
    }
}
