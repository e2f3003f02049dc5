import Foundation
import XCTest

/// The cache root must not be changeable by other users; a layer that is not ours is not used.
/// Root ignores permissions, so ownership is set with chown and the launcher judges by owner and mode.
final class CacheTrustTests: XCTestCase {
    var dir = ""
    var binary = ""

    override func setUpWithError() throws {
        dir = try Harness.makeTempDir()
        binary = try Harness.makeBundle(
            spec:
                "[bundle]\nname = \"trust\"\nversion = \"1\"\n[layers.l]\npath = \"l\"\n[entries.trust]\nexec = [\"/bin/sh\", \"{l}/run.sh\"]\n",
            tree: ["l/run.sh": .script("#!/bin/sh\necho ran\n")], in: dir, key: "k", output: "trust")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func launch(cache: String) throws -> Harness.Output {
        try Harness.run(binary, [], env: ["TRUST_LAUNCHER_CACHE_DIR": cache])
    }

    func testWorldWritableCacheRootIsRefused() throws {
        let cache = dir + "/open"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        chmod(cache, 0o777)
        let o = try launch(cache: cache)
        XCTAssertEqual(o.status, 125)
        XCTAssertTrue(
            o.stderr.contains("writable by other users") && o.stderr.contains("chmod go-w \(cache)"), o.stderr)
        chmod(cache, 0o700)
        XCTAssertEqual(try launch(cache: cache).stdout, "ran\n")
    }

    func testGroupWritableParentIsRefusedButStickyTmpIsFine() throws {
        let parent = dir + "/shared"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        chmod(parent, 0o775)
        let o = try launch(cache: parent + "/cache")
        XCTAssertEqual(o.status, 125)
        XCTAssertTrue(o.stderr.contains(parent), o.stderr)
        chmod(parent, 0o1777)  // sticky, root-owned (we are root): like /tmp
        XCTAssertEqual(try launch(cache: parent + "/cache").stdout, "ran\n")
    }

    func testCacheRootOwnedByAnotherUserIsRefused() throws {
        let cache = dir + "/theirs"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        XCTAssertEqual(chown(cache, 65534, 65534), 0)
        let o = try launch(cache: cache)
        XCTAssertEqual(o.status, 125)
        XCTAssertTrue(o.stderr.contains("owned by uid 65534"), o.stderr)
    }

    /// A layer whose program was made world-writable (anyone could have rewritten it) is not
    /// run: it is set aside and extracted again, with the recorded mode.
    func testWorldWritableProgramInALayerIsReextracted() throws {
        let cache = dir + "/cache"
        XCTAssertEqual(try launch(cache: cache).stdout, "ran\n")
        let layer = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")[0]
        let program = cache + "/layers/" + layer + "/run.sh"
        chmod(program, 0o777)
        try Harness.write("#!/bin/sh\necho tampered\n", to: program, mode: 0o777)
        XCTAssertEqual(try launch(cache: cache).stdout, "ran\n")
        var st = stat()
        XCTAssertEqual(stat(program, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o755)
    }

    /// Planted symlinks in place of the cache's own directories are never followed: the launch
    /// fails with one line and nothing is written where they point.
    func testSymlinkedCacheDirectoriesAreNotFollowed() throws {
        for sub in ["tmp", "layers"] {
            let cache = dir + "/planted-" + sub, outside = dir + "/outside-" + sub
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            chmod(cache, 0o700)
            try FileManager.default.createSymbolicLink(atPath: cache + "/" + sub, withDestinationPath: outside)
            let o = try launch(cache: cache)
            XCTAssertEqual(o.status, 125, sub + ": " + o.stdout)
            XCTAssertEqual(o.stderr.split(separator: "\n").count, 1, o.stderr)
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: outside), [],
                "\(sub): nothing written through the link")
        }
    }

    func testLayerPlantedByAnotherUserIsNotUsed() throws {
        let cache = dir + "/cache"
        XCTAssertEqual(try launch(cache: cache).stdout, "ran\n")
        let layer = try FileManager.default.contentsOfDirectory(atPath: cache + "/layers")[0]
        let marker = cache + "/layers/" + layer + "/.dgmo-layer"
        XCTAssertEqual(chown(marker, 65534, 65534), 0)
        let o = try launch(cache: cache)
        XCTAssertEqual(o.status, 125, o.stdout)
        XCTAssertTrue(o.stderr.contains("owned by uid 65534"), o.stderr)
        XCTAssertFalse(o.stdout.contains("ran"))
    }
}
