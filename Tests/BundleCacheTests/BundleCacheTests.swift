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

/// Unit tests of the cache module, in process: real directories and real bundles, with syscall
/// failures injected through `Sys.failureInjection` (debug builds only; helpers in
/// `CacheTestCase`). The attacks that need a second user are in EndToEndTests/MultiUserCacheTests.
/// Every test also checks that it left as many descriptors open as it found (the debug build's
/// `DescriptorLedger`): none leaked.
final class BundleCacheTests: CacheTestCase {
    // MARK: the one EINTR rule, and injected failures

    /// Every call of the syscall layer gets EINTR before each real attempt: a launch's work (open
    /// the cache, lock, install, list, verify, set aside, gc's questions) and the calls only the
    /// stub makes (working directory, self path, mmap) all still succeed, and the test proves it
    /// reached every `Syscall` but the three that are not retried on purpose.
    func testEINTRIsRetriedEverywhereInTheSyscallLayer() throws {
        /// Locked: the extraction's decoding thread makes calls too.
        final class Interrupter: @unchecked Sendable {
            let lock = NSLock()
            var interrupted: Set<Syscall> = []
            var pending: Set<Syscall> = []
        }
        let box = Interrupter()
        // EINTR before every real attempt: the first attempt of each call fails, its retry runs.
        Sys.failureInjection = { call, _ in
            box.lock.withLock {
                if box.pending.remove(call) != nil { return nil }
                box.pending.insert(call)
                box.interrupted.insert(call)
                return EINTR
            }
        }
        let cache = try openCache()
        // A layer of more than `perFileFlushLimit` files is flushed with syncfs; a small one file by file.
        var many: [String: String] = ["run.sh": "#!/bin/sh\necho ran\n"]
        for i in 0...CacheRoot.perFileFlushLimit { many["d/f\(i)"] = "\(i)" }
        let big = try makeBundle(many)
        let small = try makeBundle()
        let locks = HeldLocks()
        for bundle in [big, small] {
            let layer = bundle.manifest.layers[0]
            XCTAssertEqual(try cache.holdShared(layer.cacheName, into: locks), .held)
            let fd = try cache.install(layer, from: bundle)
            XCTAssertEqual(CacheRoot.problems(in: fd, layer: layer, bundle: bundle), [])
            fd.close()
            XCTAssertEqual(state(try cache.layer(layer.cacheName)), "complete")
            cache.writeBundleRecord(bundle, exePath: bundle.path)
            cache.touchBundle(bundle, exePath: bundle.path)
        }
        XCTAssertEqual(locks.count, 2)
        XCTAssertTrue(cache.isWritable)
        try cache.checkExecAllowed()
        _ = cache.layerEntries(records: cache.records())
        // An abandoned extraction of a process that is gone, removed by the next cold launch.
        let tmpDirectory = try XCTUnwrap(try cache.directory(.tmp, create: false))
        try Sys.mkdirat(tmpDirectory.fd, "0123456789abcdef.999999999.00", 0o700)
        cache.removeAbandoned()
        try cache.setAside(small.manifest.layers[0].cacheName, reason: "test")
        try Sys.symlinkat("target", tmpDirectory.fd, "link")
        XCTAssertEqual(try Sys.readlinkat(tmpDirectory.fd, Array("link".utf8)), Array("target".utf8))
        XCTAssertNotNil(Sys.workingDirectory())
        XCTAssertNotNil(Sys.selfPath())
        let bundleFD = try Sys.open(big.path, .readOnly)
        let mapped = try Sys.mapReadOnly(bundleFD, size: 4, what: "bundle")
        Sys.unmap(mapped, size: 4)
        bundleFD.close()
        XCTAssertTrue(Sys.isProcessAlive(getpid()))
        Sys.failureInjection = nil

        // Not retried on purpose: exec and spawn (no EINTR; a failed hand-off is reported; spawn is
        // Windows' only) and thread start (pthread_create reports no EINTR; no thread means decoding inline).
        let notRetried: Set<Syscall> = [.execve, .execvpe, .spawn, .threadStart]
        XCTAssertEqual(
            Set(Syscall.allCases).subtracting(box.lock.withLock { box.interrupted }).subtracting(notRetried), [],
            "every retried call was interrupted at least once")
        XCTAssertEqual(
            try String(contentsOfFile: cache.layerPath(big.manifest.layers[0].cacheName) + "/run.sh", encoding: .utf8),
            "#!/bin/sh\necho ran\n")
    }

    func testENOSPCWhileExtractingLeavesNoTemporaryTree() throws {
        let cache = try openCache()
        let bundle = try makeBundle(["run.sh": "#!/bin/sh\n", "a/b/c.txt": String(repeating: "x", count: 100_000)])
        _ = inject(.write, ENOSPC)
        XCTAssertThrowsError(try cache.install(bundle.manifest.layers[0], from: bundle).close()) { e in
            XCTAssertEqual((e as? BundleError)?.code, .diskFull, "\(e)")
            XCTAssertEqual((e as? BundleError)?.errno, ENOSPC, "\(e)")
        }
        Sys.failureInjection = nil
        XCTAssertEqual(names(cache.path + "/tmp"), [], "a failed extraction leaves no tmp/ tree")
        XCTAssertEqual(names(cache.path + "/layers"), [])
    }

    /// Durability without `syncfs`: every regular file and directory of the layer, the marker and
    /// the layer's root are flushed with `fsync` (and nothing calls `syncfs`) before the rename.
    func testInstallFlushesEveryFileAndDirectoryItWroteAndNothingElse() throws {
        let cache = try openCache()
        let bundle = try makeBundle(["run.sh": "#!/bin/sh\n", "a/b/c.txt": "c", "a/d.txt": "d", "e/f.txt": "f"])
        var flushed: [String] = []
        var syncfsCalls = 0
        Sys.failureInjection = { call, subject in
            if call == .fsync { flushed.append(subject) }
            if call == .syncfs { syncfsCalls += 1 }
            return nil
        }
        try cache.install(bundle.manifest.layers[0], from: bundle).close()
        Sys.failureInjection = nil
        XCTAssertEqual(syncfsCalls, 0)
        // 4 files, 4 directories (a, a/b, e: and the root), the marker; then, after the rename that
        // published the layer, `layers/` itself (so the new entry survives a power cut).
        XCTAssertEqual(flushed.last, "layers", "layers/ is flushed after the rename: \(flushed)")
        let tree = flushed.dropLast()
        XCTAssertEqual(
            Set(tree),
            ["run.sh", "a", "a/b", "a/b/c.txt", "a/d.txt", "e", "e/f.txt", PathRules.markerName, "layer 'l'"])
        XCTAssertEqual(tree.count, 9, "\(flushed)")
        XCTAssertEqual(tree.last, "layer 'l'", "the layer's root last, after everything in it")
    }

    /// Past `perFileFlushLimit` entries one `syncfs` is cheaper than an `fsync` per file.
    func testLargeLayersAreFlushedWithOneSyncfs() throws {
        let cache = try openCache()
        var files = ["run.sh": "#!/bin/sh\n"]
        for i in 0..<CacheRoot.perFileFlushLimit { files["f\(i)"] = "\(i)" }
        let bundle = try makeBundle(files)
        XCTAssertGreaterThan(bundle.manifest.layers[0].fileCount, CacheRoot.perFileFlushLimit)
        var calls: [String] = []
        Sys.failureInjection = { call, _ in
            if call == .fsync || call == .syncfs { calls.append(call.messageName) }
            return nil
        }
        try cache.install(bundle.manifest.layers[0], from: bundle).close()
        Sys.failureInjection = nil
        XCTAssertEqual(
            calls, ["syncfs", "fsync"], "one syncfs for the tree, then an fsync of layers/ after the rename")
    }

    /// Text that zstd cannot shrink much: a layer of it spans many frames.
    func noise(_ count: Int) -> String {
        var random = SplitMix64(state: 1)
        var s = ""
        s.reserveCapacity(count)
        for _ in 0..<count {
            s.unicodeScalars.append(UnicodeScalar(UInt8(0x21 + random.next() % 94)))
        }
        return s
    }

    /// Machine-code-like bytes: `call`/`jmp` opcodes with small operands (which the x86 filter
    /// rewrites) between random filler, and one opcode whose operand straddles each frame boundary
    /// (`frameSize` apart in the stream) at every cut from 1 to 4 bytes.
    func machineCode(_ count: Int, frameSize: Int) -> [UInt8] {
        var random = SplitMix64(state: 7)
        var bytes = [UInt8](repeating: 0, count: count)
        var i = 0
        while i + 5 <= count {
            if random.next() % 4 == 0 {
                let x = UInt32(bitPattern: Int32(Int(random.next() % 4001) - 2000))
                bytes[i] = random.next() % 2 == 0 ? 0xE8 : 0xE9
                for k in 0..<4 { bytes[i + 1 + k] = UInt8(truncatingIfNeeded: x >> (8 * k)) }
                i += 5
            } else {
                bytes[i] = UInt8(random.next() % 0xE8)
                i += 1
            }
        }
        for (n, boundary) in stride(from: frameSize, to: count - 8, by: frameSize).enumerated() {
            let op = boundary - 1 - n % 4  // the opcode 1...4 bytes before the boundary
            for k in (op - 5)..<op { bytes[k] = 0x00 }  // no earlier operand swallows it
            bytes[op] = 0xE8
            bytes[op + 1] = 0x10; bytes[op + 2] = 0; bytes[op + 3] = 0; bytes[op + 4] = 0
        }
        return bytes
    }

    /// An x86-filtered layer of many small frames, each filtered on its own, with operands cut by
    /// every frame boundary (at every cut from 1 to 4 bytes) and by file boundaries (one at a frame
    /// boundary, one inside a frame): every file comes out byte for byte.
    func testFilteredLayerComesOutExactAcrossFrameBoundaries() throws {
        let frameSize = 4096
        let code = machineCode(40 * frameSize + 3, frameSize: frameSize)
        var encoded = code
        var encoder = X86BranchFilter(encoding: true, totalSize: UInt64(code.count))
        _ = encoded.withUnsafeMutableBytes { encoder.process($0, atEnd: true) }
        XCTAssertNotEqual(encoded, code, "the filter has operands to rewrite")
        // Files in table order: a.bin, b.bin, c.bin (then run.sh). a.bin ends 2 bytes before the
        // end of frame 2, inside the operand that straddles that boundary; b.bin ends inside an
        // operand in the middle of frame 20.
        let split1 = 3 * frameSize - 2
        var split2 = 20 * frameSize + frameSize / 2
        while code[split2] != 0xE8 && code[split2] != 0xE9 { split2 += 1 }
        split2 += 2
        let cache = try openCache()
        let bundle = try makeBundle(
            ["run.sh": "#!/bin/sh\n"],
            binary: [
                "a.bin": Array(code[..<split1]), "b.bin": Array(code[split1..<split2]), "c.bin": Array(code[split2...]),
            ],
            filter: .x86, frameSize: frameSize)
        let layer = bundle.manifest.layers[0]
        XCTAssertEqual(layer.filter, .x86)
        XCTAssertEqual(layer.frames.count, (code.count + 10 + frameSize - 1) / frameSize)
        XCTAssertEqual(Set(layer.frames.dropLast().map(\.decodedSize)), [UInt64(frameSize)])
        try cache.install(layer, from: bundle).close()
        let root = cache.layerPath(layer.cacheName)
        let a = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/a.bin")))
        let b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/b.bin")))
        let c = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/c.bin")))
        XCTAssertTrue(a == Array(code[..<split1]), "a.bin differs")
        XCTAssertTrue(b == Array(code[split1..<split2]), "b.bin differs")
        XCTAssertTrue(c == Array(code[split2...]), "c.bin differs")
        XCTAssertEqual(names(cache.path + "/tmp"), [])
    }

    /// The extraction pipeline: a decoding thread fails in the middle of the stream (an I/O error
    /// reading the 12th of 33 frames); the writer gets that one error, the threads are joined, and
    /// nothing is left in tmp/ or published.
    func testDecoderFailureMidStreamStopsThePipelineAndLeavesNothing() throws {
        let cache = try openCache()
        let bundle = try makeBundle(["run.sh": "#!/bin/sh\n", "big.txt": noise(8 << 20)], frameSize: 256 << 10)
        XCTAssertEqual(bundle.manifest.layers[0].frames.count, 33)
        let reads = Injector(0)
        Sys.failureInjection = { call, subject in
            guard call == .pread, subject.contains("layer 'l' data") else { return nil }
            return reads.count() >= 12 ? EIO : nil
        }
        XCTAssertThrowsError(try cache.install(bundle.manifest.layers[0], from: bundle).close()) { e in
            XCTAssertEqual((e as? BundleError)?.errno, EIO, "\(e)")
            XCTAssertTrue((e as? BundleError)?.message.contains("layer 'l' data") == true, "\(e)")
        }
        Sys.failureInjection = nil
        XCTAssertGreaterThanOrEqual(reads.seen, 12)
        XCTAssertEqual(names(cache.path + "/tmp"), [])
        XCTAssertEqual(names(cache.path + "/layers"), [])
        // The same bundle installs once nothing fails.
        try cache.install(bundle.manifest.layers[0], from: bundle).close()
        XCTAssertEqual(
            try String(
                contentsOfFile: cache.layerPath(bundle.manifest.layers[0].cacheName) + "/big.txt",
                encoding: .utf8
            ).count, 8 << 20)
    }

    /// The writer fails (a full disk) while the decoding threads are ahead of it, blocked on a full
    /// ring (33 frames, at most 9 slots): the error is the write's, the threads are stopped and
    /// joined, nothing is left.
    /// This process's threads (`/proc/self/task`).
    func threadCount() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []).count
    }

    func testWriteFailureWithTheDecoderAheadStopsItAndLeavesNothing() throws {
        let cache = try openCache()
        let bundle = try makeBundle(["run.sh": "#!/bin/sh\n", "big.txt": noise(8 << 20)], frameSize: 256 << 10)
        let writes = Injector(0)
        Sys.failureInjection = { call, subject in
            guard call == .write, subject == "big.txt" else { return nil }
            let n = writes.count()
            if n == 2 { usleep(200_000) }  // let the decoder fill the ring and block
            return n >= 3 ? ENOSPC : nil
        }
        let threadsBefore = threadCount()
        XCTAssertThrowsError(try cache.install(bundle.manifest.layers[0], from: bundle).close()) { e in
            XCTAssertEqual((e as? BundleError)?.code, .diskFull, "\(e)")
            XCTAssertTrue((e as? BundleError)?.message.contains("big.txt") == true, "\(e)")
        }
        Sys.failureInjection = nil
        XCTAssertEqual(threadCount(), threadsBefore, "the decoding thread was stopped and joined")
        XCTAssertEqual(writes.seen, 3, "the write that failed was the last")
        XCTAssertEqual(names(cache.path + "/tmp"), [])
        XCTAssertEqual(names(cache.path + "/layers"), [])
    }

    func testFsyncFailureFailsTheInstallAndLeavesNothing() throws {
        let cache = try openCache()
        let bundle = try makeBundle(["run.sh": "#!/bin/sh\n", "a/b/c.txt": String(repeating: "x", count: 10_000)])
        _ = inject(.fsync, EIO, subject: "a/b/c.txt")
        XCTAssertThrowsError(try cache.install(bundle.manifest.layers[0], from: bundle).close()) { e in
            XCTAssertEqual((e as? BundleError)?.errno, EIO, "\(e)")
            XCTAssertTrue((e as? BundleError)?.message.contains("a/b/c.txt") == true, "names the file: \(e)")
        }
        Sys.failureInjection = nil
        XCTAssertEqual(names(cache.path + "/tmp"), [], "a failed flush leaves no tmp/ tree")
        XCTAssertEqual(names(cache.path + "/layers"), [], "nothing published")
    }

    func testDeclaredSizeLargerThanTheFreeSpaceIsRefusedBeforeExtracting() throws {
        let cache = try openCache()
        XCTAssertThrowsError(try cache.checkFreeSpace(bytes: 1 << 62, files: 1, layerName: "huge")) { e in
            let r = e as? BundleError
            XCTAssertEqual(r?.code, .diskFull)
            XCTAssertEqual(r?.errno, ENOSPC)
            XCTAssertTrue(r?.message.contains("layer 'huge'") == true, "the message names the layer: \(e)")
        }
        XCTAssertNoThrow(try cache.checkFreeSpace(bytes: 1, files: 1, layerName: "tiny"))
    }

    func testEEXISTOnPublishUsesTheCompleteCopyAnotherLaunchPublished() throws {
        let cache = try openCache()
        let bundle = try makeBundle()
        let layer = bundle.manifest.layers[0]
        try cache.install(layer, from: bundle).close()
        _ = inject(.renameat, EEXIST)
        try cache.install(layer, from: bundle).close()
        XCTAssertEqual(names(cache.path + "/tmp"), [], "our copy is discarded")
        // No complete copy: the rename's EEXIST is an error, with one line.
        Sys.failureInjection = nil
        let marker = cache.layerPath(layer.cacheName) + "/" + PathRules.markerName
        XCTAssertEqual(unlink(marker), 0)
        _ = inject(.renameat, EEXIST)
        XCTAssertThrowsError(try cache.install(layer, from: bundle).close()) { e in
            XCTAssertEqual((e as? BundleError)?.code, .damagedCache, "\(e)")
        }
    }

    func testELOOPOnACacheDirectoryIsARefusalNotAFollow() throws {
        let cache = try openCache()
        _ = inject(.openat, ELOOP, subject: "tmp")
        XCTAssertThrowsError(try cache.requireDirectory(.tmp)) { e in
            XCTAssertEqual((e as? BundleError)?.code, .unsafeCache, "\(e)")
        }
        // And a real one: locks/ planted as a symlink is never written through.
        Sys.failureInjection = nil
        let outside = dir + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let other = try openCache(dir + "/c2")
        try FileManager.default.createSymbolicLink(atPath: other.path + "/locks", withDestinationPath: outside)
        XCTAssertThrowsError(try other.holdShared(String(repeating: "ab", count: 32), into: HeldLocks()))
        XCTAssertEqual(names(outside), [])
    }

    // MARK: descriptors, not names

    func testAFIFOWhereALockFileGoesNeverBlocks() throws {
        let cache = try openCache()
        let name = String(repeating: "cd", count: 32)
        _ = try cache.requireDirectory(.locks)
        XCTAssertEqual(mkfifo(cache.path + "/locks/" + name, 0o600), 0)
        let started = Date()
        XCTAssertEqual(try cache.holdShared(name, into: HeldLocks()), .held)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        var st = stat()
        XCTAssertEqual(lstat(cache.path + "/locks/" + name, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "replaced by a regular lock file")
    }

    /// The automatic collection's stamp (AutomaticCollection.swift): missing, it is made and not
    /// due; a day old or dated in the future, due; a FIFO or a symlink there is never due, never
    /// blocks and is left as it is (collectNow refuses it too); a held stamp is left to its holder.
    func testTheCollectionStampDecidesWhenACollectionIsDue() throws {
        let cache = try openCache()
        let stamp = cache.path + "/gc-stamp"
        let now = Int64(Date().timeIntervalSince1970)
        func age(_ seconds: Int64) {
            var t = [
                timespec(tv_sec: Int(now - seconds), tv_nsec: 0), timespec(tv_sec: Int(now - seconds), tv_nsec: 0),
            ]
            XCTAssertEqual(utimensat(AT_FDCWD, stamp, &t, AT_SYMLINK_NOFOLLOW), 0)
        }
        XCTAssertFalse(cache.collectionIsDue(now: now))
        var st = stat()
        XCTAssertEqual(lstat(stamp, &st), 0, "made by the first look")
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertFalse(cache.collectionIsDue(now: now))
        age(86399)
        XCTAssertFalse(cache.collectionIsDue(now: now), "younger than a day")
        age(86400)
        XCTAssertTrue(cache.collectionIsDue(now: now))
        age(-3600)
        XCTAssertTrue(cache.collectionIsDue(now: now), "a stamp from the future (a clock set back)")

        // Held by another launch: this one leaves the collection to it and leaves the stamp alone.
        age(2 * 86400)
        let holder = open(stamp, O_RDONLY)
        XCTAssertEqual(flock(holder, LOCK_EX), 0)
        XCTAssertNil(cache.collectNow(now: now, olderThan: 0, sparing: []))
        XCTAssertEqual(lstat(stamp, &st), 0)
        XCTAssertEqual(Int64(st.st_mtim.tv_sec), now - 2 * 86400)
        close(holder)
        XCTAssertNotNil(cache.collectNow(now: now, olderThan: 0, sparing: []))
        XCTAssertFalse(cache.collectionIsDue(now: now), "renewed by the collection")
        XCTAssertNil(cache.collectNow(now: now, olderThan: 0, sparing: []), "not twice a day")

        for plant in ["fifo", "symlink"] {
            XCTAssertEqual(unlink(stamp), 0)
            if plant == "fifo" {
                XCTAssertEqual(mkfifo(stamp, 0o600), 0)
            } else {
                XCTAssertEqual(symlink(dir + "/elsewhere", stamp), 0)
            }
            let started = Date()
            XCTAssertFalse(cache.collectionIsDue(now: now), plant)
            XCTAssertNil(cache.collectNow(now: now, olderThan: 0, sparing: []), plant)
            XCTAssertLessThan(Date().timeIntervalSince(started), 5)
            XCTAssertEqual(lstat(stamp, &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, plant == "fifo" ? S_IFIFO : S_IFLNK, "left as it is")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/elsewhere"), "nothing made through it")
        }
    }

    func testPublishedDirectoryMustBeTheOneWeExtracted() throws {
        let cache = try openCache()
        let bundle = try makeBundle()
        let layer = bundle.manifest.layers[0]
        // At the moment of the rename, swap our temporary directory for another one (what a
        // hostile user with write access to tmp/ would do): the launcher must notice.
        let tmp = cache.path + "/tmp"
        Sys.failureInjection = { call, _ in
            guard call == .renameat, let ours = try? FileManager.default.contentsOfDirectory(atPath: tmp).first else {
                return nil
            }
            Sys.failureInjection = nil
            _ = rename(tmp + "/" + ours, tmp + "/moved-away")
            _ = mkdir(tmp + "/" + ours, 0o700)
            _ = FileManager.default.createFile(
                atPath: tmp + "/" + ours + "/" + PathRules.markerName, contents: Data("x\n".utf8))
            return nil
        }
        XCTAssertThrowsError(try cache.install(layer, from: bundle).close()) { e in
            XCTAssertEqual((e as? BundleError)?.code, .unsafeCache, "\(e)")
        }
    }

    func testForeignOwnedLayerIsRefusedAndLoosenedOneIsDamaged() throws {
        let cache = try openCache()
        let bundle = try makeBundle()
        let name = bundle.manifest.layers[0].cacheName
        try cache.install(bundle.manifest.layers[0], from: bundle).close()
        XCTAssertEqual(state(try cache.layer(name)), "complete", "complete after install")
        let marker = cache.layerPath(name) + "/" + PathRules.markerName
        chmod(marker, 0o666)
        XCTAssertEqual(state(try cache.layer(name)), "damaged", "a marker others can write is not trusted")
        chmod(marker, 0o400)
        XCTAssertEqual(chown(marker, 65534, 65534), 0)
        XCTAssertThrowsError(state(try cache.layer(name))) { e in
            XCTAssertEqual((e as? BundleError)?.code, .unsafeCache, "\(e)")
            XCTAssertTrue("\(e)".contains("uid 65534"), "the message names the owner: \(e)")
        }
    }

    // MARK: shared directories

    /// A root that already holds a sticky, world-writable `tmp/` (`<APP>_CACHE_DIR=/` or `/var`
    /// for root): `tmp/` was accepted like `/tmp` on the way to a root, so extractions went into
    /// a shared directory and the clean-up of abandoned extractions deleted other users' files
    /// named like `a.<dead pid>.b`. Now refused with one line, and left as it is.
    func testTheCachesOwnDirectoriesAreNeverSharedEvenWhenSticky() throws {
        let root = dir + "/like-var"
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        chmod(root + "/tmp", 0o1777)
        let theirs = root + "/tmp/report.999999.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: theirs, contents: Data("x".utf8)))
        XCTAssertEqual(chown(theirs, 54321, 54321), 0)
        let cache = try openCache(root)
        XCTAssertThrowsError(try cache.requireDirectory(.tmp)) { e in
            XCTAssertEqual((e as? BundleError)?.code, .unsafeCache, "\(e)")
            XCTAssertTrue("\(e)".contains(root + "/tmp"), "the message names the directory: \(e)")
        }
        cache.removeAbandoned()
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: theirs), "another user's file in a shared tmp/ was deleted")
        var st = stat()
        XCTAssertEqual(lstat(root + "/tmp", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o1777, "a shared directory is not changed")
    }

    func testStickySharedDirectoryGetsAPrivatePerUserRoot() throws {
        let shared = dir + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        chmod(shared, 0o1777)
        let cache = try openCache(shared)
        XCTAssertEqual(cache.path, shared + "/unit-\(geteuid())")
        XCTAssertEqual(location(shared).rootPath(), cache.path)
        var st = stat()
        XCTAssertEqual(lstat(cache.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o700)
        // Not sticky: refused with the fix.
        chmod(shared, 0o777)
        XCTAssertThrowsError(try location(shared).open(create: true)) { e in
            XCTAssertEqual((e as? BundleError)?.code, .unsafeCache, "\(e)")
            XCTAssertTrue("\(e)".contains("chmod go-w \(shared)"), "the message says the fix: \(e)")
        }
    }

    /// A relative symlink whose target climbs (`~/.cache -> ../data/cache`, as stow and many
    /// dotfile setups make) names a directory like any other: it was refused with "must not
    /// contain '..'" although the configured path holds none. `..` in a link target goes back to
    /// the directory already opened and checked on the way down (also above the trusted prefix,
    /// walked again from `/`); `..` in the configured path itself is still refused.
    func testRelativeSymlinksThatClimbAreFollowedLikeTheKernelDoes() throws {
        let home = dir + "/home"
        try FileManager.default.createDirectory(atPath: home + "/data", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/outside", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home + "/.cache", withDestinationPath: "data/../data/x/..")
        try FileManager.default.createSymbolicLink(atPath: home + "/up", withDestinationPath: "../outside")
        let below = CacheLocation(
            base: home + "/.cache", leaf: "app", source: .home, variableName: "T_CACHE_DIR", cacheName: "app", home: home)
        XCTAssertNil(try below.open(create: false))
        try FileManager.default.createDirectory(atPath: home + "/data/x", withIntermediateDirectories: true)
        let opened = try XCTUnwrap(try below.open(create: true))
        XCTAssertEqual(opened.path, home + "/.cache/app")
        XCTAssertTrue(FileManager.default.fileExists(atPath: home + "/data/app"))
        let above = CacheLocation(
            base: home + "/up/c", leaf: nil, source: .variable, variableName: "T_CACHE_DIR", cacheName: "app", home: home)
        XCTAssertNotNil(try above.open(create: true))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/outside/c"))
        XCTAssertThrowsError(try location(home + "/../home/c").open(create: true)) { e in
            XCTAssertEqual((e as? BundleError)?.code, .usage, "\(e)")
        }
    }

    func testSymlinksAreFollowedOnlyWhereNobodyElseCouldHavePlantedThem() throws {
        let real = dir + "/real"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: real)
        let viaPrivate = try XCTUnwrap(try location(dir + "/link/cache").open(create: true))
        XCTAssertEqual(viaPrivate.path, dir + "/link/cache")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: real + "/cache/tmp")
                || FileManager.default.fileExists(atPath: real + "/cache"))
        let shared = dir + "/sticky"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        chmod(shared, 0o1777)
        try FileManager.default.createSymbolicLink(atPath: shared + "/link", withDestinationPath: real)
        XCTAssertThrowsError(try location(shared + "/link/cache").open(create: true)) { e in
            XCTAssertEqual((e as? BundleError)?.code, .unsafeCache, "\(e)")
        }
    }

    // MARK: bounded resources

    /// 600 levels, with the descriptor limit lowered to 128: removal, disk usage and the walker
    /// never hold more than a few descriptors, and no path is ever built.
    func testTreesDeeperThanTheDescriptorLimit() throws {
        let root = try Sys.open(dir, .readOnly | .directory)
        XCTAssertEqual(mkdir(dir + "/deep", 0o700), 0)
        var fd = open(dir + "/deep", O_RDONLY | O_DIRECTORY)
        for i in 0..<600 {
            XCTAssertEqual(mkdirat(fd, "d", 0o700), 0)
            if i % 100 == 0 { close(openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)) }
            let next = openat(fd, "d", O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        close(fd)
        var old = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &old)
        var low = old
        low.rlim_cur = 128
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &low)
        defer { setrlimit(Int32(RLIMIT_NOFILE.rawValue), &old) }
        var count = 0
        try TreeWalk.walk(
            root,
            visit: { _, _ in
                count += 1; return true
            })
        XCTAssertEqual(count, 1 + 600 + 6)
        XCTAssertGreaterThan(TreeWalk.diskUsage(root, "deep"), 600 * 512)
        try TreeWalk.removeTree(root, "deep")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/deep"))
    }

    func testDirectoryStackHoldsABoundedNumberOfDescriptors() throws {
        let before = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        var stack = DirectoryStack(root: try Sys.open(dir, .readOnly | .directory))
        var path: [UInt8] = []
        for i in 0..<300 {
            try stack.withDirectory(path) { (parent) throws(BundleError) in try Sys.mkdirat(parent, "d\(i % 3)", 0o700)
            }
            path += (path.isEmpty ? [] : [0x2F]) + Array("d\(i % 3)".utf8)
        }
        try stack.withDirectory(path) { _ throws(BundleError) in }
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        XCTAssertLessThanOrEqual(open - before, DirectoryStack.maxOpen + 1)
        // Back up to a level whose descriptor was closed, then down a new branch.
        let shallow = Array(path.prefix(11))  // "d0/d1/d2/d0"
        try stack.withDirectory(shallow) { (fd) throws(BundleError) in try Sys.mkdirat(fd, "new", 0o700) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/d0/d1/d2/d0/new"))
        stack.closeAll()
    }

    // MARK: ops never trap

    func testDurationsAndAgesSaturateInsteadOfTrapping() {
        XCTAssertEqual(Durations.parse("30d"), 30 * 86400)
        XCTAssertEqual(Durations.parse("9223372036854775807w"), Int64.max)
        XCTAssertNil(Durations.parse("-1d"))
        XCTAssertNil(Durations.parse("12x"))
        XCTAssertEqual(Durations.age(now: 100, since: -100), 200)
        XCTAssertEqual(Durations.age(now: Int64.max, since: -5), Int64.max)
        XCTAssertEqual(Durations.age(now: -5, since: Int64.max), Int64.min)
    }

    /// `cache verify` compares names as bytes: a decomposed "é" next to the precomposed one the
    /// table lists is an unexpected file, though the two are equal Swift Strings.
    func testVerifyComparesNamesAsBytes() throws {
        let nfc = "caf\u{E9}.txt", nfd = "cafe\u{301}.txt"
        XCTAssertEqual(nfc, nfd, "canonically equal as Swift Strings")
        let cache = try openCache()
        let bundle = try makeBundle(["run.sh": "#!/bin/sh\n", nfc: "hello"])
        let layer = bundle.manifest.layers[0]
        let fd = try cache.install(layer, from: bundle)
        XCTAssertEqual(CacheRoot.problems(in: fd, layer: layer, bundle: bundle), [])
        chmod(cache.layerPath(layer.cacheName), 0o700)
        let extra = cache.layerPath(layer.cacheName) + "/" + nfd
        XCTAssertTrue(FileManager.default.createFile(atPath: extra, contents: Data("x".utf8)))
        let problems = CacheRoot.problems(in: fd, layer: layer, bundle: bundle)
        XCTAssertEqual(problems, ["unexpected: \(nfd)"])
    }

    func testGcNeverTrapsOnRecordsDatedBefore1970OrFarAhead() throws {
        let cache = try openCache()
        let bundle = try makeBundle()
        try cache.install(bundle.manifest.layers[0], from: bundle).close()
        cache.writeBundleRecord(bundle, exePath: "/x")
        let record = cache.path + "/bundles/" + Hex.encode(bundle.digest)
        var times = [
            timespec(tv_sec: -86400 * 365 * 100, tv_nsec: 0), timespec(tv_sec: -86400 * 365 * 100, tv_nsec: 0),
        ]
        XCTAssertEqual(utimensat(AT_FDCWD, record, &times, 0), 0)
        let recs = cache.records()
        XCTAssertLessThan(recs.first?.lastUse ?? 0, 0)
        let (candidates, _) = cache.gcCandidates(now: Int64(time(nil)), olderThan: Int64.max, keep: 0, records: recs)
        XCTAssertEqual(candidates, [])
        let (all, _) = cache.gcCandidates(now: Int64(time(nil)), olderThan: 1, keep: 0, records: recs)
        XCTAssertEqual(all, [bundle.manifest.layers[0].cacheName])
    }
}
