import XCTest
import Glibc
import CPlatform
import BundleFormat
import BundleSystem

/// The C side of the platform layer: errno numbers it does not name are never taken for ours, and
/// the threads and monitor the extraction pipeline uses (through `Sys`, the one door) work.
final class PlatformLayerTests: XCTestCase {
    func testAFailedCallReturnsItsOwnCodeAndAnUnknownErrnoIsOtherCarryingItsNumber() throws {
        // A named errno comes back as ours, negated, from the wrapper itself (no errno read after).
        XCTAssertEqual(cplat_open("/nonexistent-\(getpid())/x", CPLAT_O_RDONLY, 0), -CPLAT_ENOENT)
        // ESPIPE is in no table of ours: pread on a pipe is other + its number, never one of ours
        // (on macOS EDEADLK would otherwise read as EAGAIN, EINPROGRESS as ENAMETOOLONG).
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        var byte: UInt8 = 0
        XCTAssertEqual(cplat_pread(fds[0], &byte, 1, 0), -Int64(CPLAT_EOTHER + ESPIPE))
        XCTAssertEqual(String(cString: cplat_strerror(CPLAT_EOTHER + ESPIPE)), String(cString: strerror(ESPIPE)))
        XCTAssertEqual(Sys.errorText(CPLAT_EOTHER + EDEADLK), String(cString: strerror(EDEADLK)))
        // Through Sys: one BundleError naming the call, carrying the code.
        XCTAssertThrowsError(try Sys.open("/nonexistent-\(getpid())/x", .readOnly).close()) { e in
            XCTAssertEqual((e as? BundleError)?.errno, Errno.ENOENT)
            XCTAssertEqual((e as? BundleError)?.message.hasPrefix("open /nonexistent-"), true, "\(e)")
        }
    }

    /// The debug ledger counts what `FileDescriptor` values own: one more after an open, back after
    /// the close, unchanged when a table takes a descriptor over, and back when the table ends.
    func testTheDescriptorLedgerCountsOwnership() throws {
        let start = DescriptorLedger.count
        let fd = try Sys.open("/", .readOnly | .directory)
        XCTAssertEqual(DescriptorLedger.count, start + 1)
        do {
            var table = DescriptorTable()
            table.append(try Sys.duplicate(fd))
            XCTAssertEqual(DescriptorLedger.count, start + 2)
            XCTAssertTrue(try table.borrow(0) { (d) throws(BundleError) in try Sys.fstat(d).type == .directory })
        }
        XCTAssertEqual(DescriptorLedger.count, start + 1, "the table closed its descriptor when it ended")
        fd.close()
        XCTAssertEqual(DescriptorLedger.count, start)
    }

    func testEveryCallHasAMessageName() {
        XCTAssertEqual(
            Set(Syscall.allCases.map(\.messageName)).count, Syscall.allCases.count - 3,
            "open/openat, read/pread, execve/execvpe share a word; every other call has its own")
    }

    func testAThreadRunsAndIsJoinedAndTheMonitorHandsOver() throws {
        final class Box {
            let monitor = Sys.Monitor()!
            var value = 0
        }
        let box = Box()
        let entry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            box.monitor.lock()
            box.value = 42
            box.monitor.broadcast()
            box.monitor.unlock()
            return nil
        }
        let thread = try XCTUnwrap(Sys.startThread(entry, context: Unmanaged.passUnretained(box).toOpaque()))
        box.monitor.lock()
        while box.value == 0 { box.monitor.wait() }
        box.monitor.unlock()
        Sys.join(thread)
        XCTAssertEqual(box.value, 42)
    }
}
