import XCTest
import Glibc
import CPlatform
import BundleRuntime

/// The C side of the platform layer: errno numbers it does not name are never taken for ours, and
/// the threads and monitor the extraction pipeline uses (through `Sys`, the one door) work.
final class PlatformLayerTests: XCTestCase {
    func testAnUnknownErrnoIsOtherCarryingItsNumber() {
        // EDEADLK is in no table of ours; on macOS its number (11) would otherwise read as EAGAIN.
        errno = EDEADLK
        XCTAssertEqual(cplat_errno(), CPLAT_EOTHER + EDEADLK)
        XCTAssertEqual(String(cString: cplat_strerror(CPLAT_EOTHER + EDEADLK)), String(cString: strerror(EDEADLK)))
        XCTAssertEqual(Sys.errorText(CPLAT_EOTHER + EDEADLK), String(cString: strerror(EDEADLK)))
        // A named one maps to ours, and 0 stays 0.
        errno = ENOENT
        XCTAssertEqual(cplat_errno(), CPLAT_ENOENT)
        errno = 0
        XCTAssertEqual(cplat_errno(), 0)
        // Setting one of ours gives the real one.
        cplat_set_errno(CPLAT_ELOOP)
        XCTAssertEqual(errno, ELOOP)
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
