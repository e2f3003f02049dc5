import Foundation
import XCTest

/// Where a one-file tool would run, the bundle runs too: a user with no usable home (`nobody`'s
/// `/nonexistent`, a uid without a passwd entry and no `$HOME`, a read-only home, a home that is
/// a file) gets the private root in the temporary directory (`<tmp>/<cache-name>-<uid>`), told
/// once when stderr is a terminal. A noexec cache is refused leaving nothing behind, with a
/// suggestion on another filesystem. Real users (`useradd`, `setpriv`) and mounts, undone in
/// tearDown; needs root.
final class CacheFallbackTests: XCTestCase {
    struct User { var name: String; var uid: Int; var gid: Int }
    var dir = ""
    /// A root-owned sticky directory like `/tmp`, given as `$TMPDIR`.
    var tmp = ""
    var binary = ""
    var user = User(name: "", uid: 0, gid: 0)
    var mounts: [String] = []
    /// Private roots made in the real `/tmp`, removed in tearDown.
    var madeInTmp: [String] = []
    let cacheName = "fallback-launcher"

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("creating users and mounting needs root") }
        dir = try Harness.makeTempDir()
        chmod(dir, 0o755)
        tmp = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        chmod(tmp, 0o1777)
        binary = try Harness.makeBundle(
            spec: """
                [bundle]
                name = "fallback"
                version = "1"
                [layers.l]
                path = "src"
                [entries.fallback]
                exec = ["/bin/sh", "{l}/run.sh"]
                """,
            tree: ["src/run.sh": .script("#!/bin/sh\necho \"ok from $0\"\n")], in: dir)
        chmod(binary, 0o755)
        let r = try Harness.run(
            "/usr/sbin/useradd",
            [
                "--no-create-home", "--no-user-group", "--gid", "nogroup", "--home-dir", "/nonexistent", "--shell",
                "/usr/sbin/nologin", "fb" + String(UInt32.random(in: 0...UInt32.max), radix: 36),
            ])
        guard r.status == 0 else { throw XCTSkip("useradd failed: \(r.stderr)") }
        let name = try XCTUnwrap(
            try Harness.run("/usr/bin/tail", ["-1", "/etc/passwd"]).stdout.split(separator: ":").first.map(String.init))
        func id(_ flag: String) throws -> Int {
            Int(try Harness.run("/usr/bin/id", [flag, name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                ?? -1
        }
        user = User(name: name, uid: try id("-u"), gid: try id("-g"))
    }

    override func tearDownWithError() throws {
        for m in mounts.reversed() { _ = try? Harness.run("/bin/umount", ["-l", m]) }
        if !user.name.isEmpty { _ = try? Harness.run("/usr/sbin/userdel", [user.name]) }
        for p in madeInTmp { try? FileManager.default.removeItem(atPath: p) }
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Runs the bundle as `uid`/`gid` with exactly `env` (and PATH; no HOME unless given).
    func run(uid: Int, gid: Int, env: [String: String], program: [String]? = nil) throws -> Harness.Output {
        var unset = ["-u", "HOME"]
        if env["HOME"] != nil { unset = [] }
        return try Harness.run(
            "/usr/bin/env",
            unset + ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"]
                + (program ?? [binary]),
            env: env)
    }

    func mount(_ at: String, _ options: String) throws {
        try FileManager.default.createDirectory(atPath: at, withIntermediateDirectories: true)
        let m = try Harness.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", at])
        guard m.status == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(m.stderr)") }
        mounts.append(at)
    }

    /// The private root `<base>/<cache-name>-<uid>`: a directory of `uid`'s, mode 0700, holding the layer.
    func assertPrivateRoot(_ base: String, uid: Int, file: StaticString = #filePath, line: UInt = #line) {
        let root = base + "/\(cacheName)-\(uid)"
        var st = stat()
        XCTAssertEqual(stat(root, &st), 0, "no cache at \(root)", file: file, line: line)
        XCTAssertEqual(Int(st.st_uid), uid, file: file, line: line)
        XCTAssertEqual(st.st_mode & 0o777, 0o700, file: file, line: line)
        XCTAssertEqual(
            (try? FileManager.default.contentsOfDirectory(atPath: root + "/layers"))?.count, 1, file: file, line: line)
    }

    func testUserWithHomeNonexistentRunsWithTheCacheInTmp() throws {
        let root = "/tmp/\(cacheName)-\(user.uid)"
        madeInTmp.append(root)
        try? FileManager.default.removeItem(atPath: root)
        // HOME as login(1) would set it from the passwd entry, and HOME unset (the entry is read).
        for env in [["HOME": "/nonexistent"], [:]] {
            let o = try run(uid: user.uid, gid: user.gid, env: env)
            XCTAssertEqual(o.status, 0, o.stderr)
            XCTAssertTrue(o.stdout.hasPrefix("ok from "), o.stdout)
            XCTAssertEqual(o.stderr, "", "said only when stderr is a terminal")
            XCTAssertTrue(o.stdout.contains(root + "/layers/"), o.stdout)
            assertPrivateRoot("/tmp", uid: user.uid)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/nonexistent"))
    }

    func testUIDWithoutPasswdEntryRuns() throws {
        let uid = 54321
        guard getpwuid(uid_t(uid)) == nil else { throw XCTSkip("uid \(uid) has a passwd entry here") }
        let o = try run(uid: uid, gid: uid, env: ["TMPDIR": tmp])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.contains(tmp + "/\(cacheName)-\(uid)/layers/"), o.stdout)
        assertPrivateRoot(tmp, uid: uid)
        // Warm: the same root again.
        let again = try run(uid: uid, gid: uid, env: ["TMPDIR": tmp])
        XCTAssertEqual(again.stdout, o.stdout, again.stderr)
    }

    func testReadOnlyHomeRuns() throws {
        // A home the user cannot write to (root's, mode 0555).
        let home = dir + "/rohome"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        chmod(home, 0o555)
        var o = try run(uid: user.uid, gid: user.gid, env: ["HOME": home, "TMPDIR": tmp])
        XCTAssertEqual(o.status, 0, o.stderr)
        assertPrivateRoot(tmp, uid: user.uid)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/.cache"))
        // A read-only mount, which holds for root too.
        let mounted = dir + "/romount"
        try mount(mounted, "ro,mode=0755")
        o = try run(uid: 0, gid: 0, env: ["HOME": mounted, "TMPDIR": tmp])
        XCTAssertEqual(o.status, 0, o.stderr)
        assertPrivateRoot(tmp, uid: 0)
        // A home that is a file.
        try Harness.write("not a directory\n", to: dir + "/homefile")
        try FileManager.default.removeItem(atPath: tmp + "/\(cacheName)-\(user.uid)")
        o = try run(uid: user.uid, gid: user.gid, env: ["HOME": dir + "/homefile", "TMPDIR": tmp])
        XCTAssertEqual(o.status, 0, o.stderr)
        assertPrivateRoot(tmp, uid: user.uid)
    }

    /// At a terminal the fallback is said once, when the private root is made: where, why, and
    /// the variable that chooses another place.
    func testTheFallbackIsSaidOnceAtATerminal() throws {
        let command = ["/usr/bin/script", "-qec", binary, "/dev/null"]
        let first = try run(
            uid: user.uid, gid: user.gid, env: ["HOME": "/nonexistent", "TMPDIR": tmp], program: command)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        let said = first.stdout.split(separator: "\n").filter { $0.contains("the cache is in") }
        XCTAssertEqual(said.count, 1, first.stdout)
        let line = String(said.first ?? "")
        for needle in ["/nonexistent", tmp + "/\(cacheName)-\(user.uid)", "FALLBACK_LAUNCHER_CACHE_DIR"] {
            XCTAssertTrue(line.contains(needle), "'\(line)' lacks \(needle)")
        }
        let second = try run(
            uid: user.uid, gid: user.gid, env: ["HOME": "/nonexistent", "TMPDIR": tmp], program: command)
        XCTAssertEqual(second.status, 0, second.stdout)
        XCTAssertFalse(second.stdout.contains("the cache is in"), second.stdout)
        XCTAssertTrue(second.stdout.contains("ok from"), second.stdout)
    }

    /// A set variable is the user's choice: an unsafe one stays a refusal (no fallback around it).
    func testAnUnsafeVariableIsStillRefused() throws {
        let open = dir + "/open"
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        chmod(open, 0o777)
        let o = try run(
            uid: user.uid, gid: user.gid,
            env: ["HOME": "/nonexistent", "TMPDIR": tmp, "FALLBACK_LAUNCHER_CACHE_DIR": open])
        XCTAssertEqual(o.status, 125, o.stdout)
        XCTAssertTrue(o.stderr.contains("writable by other users"), o.stderr)
    }

    /// The suggestion in a noexec refusal (`for example <dir>/<cache-name>`): its directory.
    func suggestion(_ stderr: String) throws -> String {
        let marker = "for example "
        let start = try XCTUnwrap(stderr.range(of: marker), stderr).upperBound
        let rest = stderr[start...]
        let end = try XCTUnwrap(rest.firstIndex(of: ")"), stderr)
        return (String(rest[..<end]) as NSString).deletingLastPathComponent
    }

    func device(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_dev) : 0
    }

    func testNoexecHomeIsRefusedLeavingNothingWithASuggestionElsewhere() throws {
        let home = dir + "/noexec"
        try mount(home, "noexec,mode=0755")
        let o = try run(uid: 0, gid: 0, env: ["HOME": home, "TMPDIR": tmp])
        XCTAssertEqual(o.status, 125, o.stdout)
        XCTAssertEqual(o.stderr.filter { $0 == "\n" }.count, 1, o.stderr)
        XCTAssertTrue(o.stderr.contains("noexec") && o.stderr.contains("FALLBACK_LAUNCHER_CACHE_DIR"), o.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home), [], "left behind")
        let suggested = try suggestion(o.stderr)
        XCTAssertFalse(suggested.hasPrefix(home), o.stderr)
        XCTAssertNotEqual(device(suggested), device(home), "\(suggested) is on the noexec mount")
        XCTAssertNotEqual(device(suggested), 0, suggested)
    }

    /// A root that already exists there (left by an older launcher): what this run made in it
    /// (locks/ and its lock file) goes again; the root, not made by this run, stays.
    func testNoexecExistingRootKeepsNothingThisRunMade() throws {
        let mnt = dir + "/noexec"
        try mount(mnt, "noexec,mode=0755")
        let cache = mnt + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        chmod(cache, 0o700)
        let o = try run(uid: 0, gid: 0, env: ["HOME": dir, "FALLBACK_LAUNCHER_CACHE_DIR": cache])
        XCTAssertEqual(o.status, 125, o.stdout)
        XCTAssertTrue(o.stderr.contains("noexec"), o.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache), [], "left behind")
        XCTAssertNotEqual(device(try suggestion(o.stderr)), device(mnt), o.stderr)
        // A fresh path below the mount: nothing is made at all.
        let fresh = try run(uid: 0, gid: 0, env: ["HOME": dir, "FALLBACK_LAUNCHER_CACHE_DIR": mnt + "/a/b"])
        XCTAssertEqual(fresh.status, 125, fresh.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mnt), ["cache"])
        // Through a symlink whose target does not exist yet (review of issue 28): the target's
        // filesystem is judged, so nothing is made there either.
        let home = dir + "/linkhome"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home + "/.cache", withDestinationPath: mnt + "/later")
        let linked = try run(uid: 0, gid: 0, env: ["HOME": home, "TMPDIR": tmp])
        XCTAssertEqual(linked.status, 125, linked.stdout)
        XCTAssertTrue(linked.stderr.contains("noexec"), linked.stderr)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: mnt), ["cache"], "nothing made through the link")
    }
}
