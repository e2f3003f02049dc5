import XCTest
import BundleSystem
import BundleRuntime

/// The launcher finds the home directory in /etc/passwd itself (no getpwuid in the static binary).
final class PasswdFileTests: XCTestCase {
    let text = Array(
        """
        root:x:0:0:root:/root:/bin/bash
        # a comment line
        short:x:5
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        rel:x:7:7::home/rel:/bin/sh
        dup:x:1000:1000::/home/first:/bin/sh
        dup2:x:1000:1000::/home/second:/bin/sh
        empty:x:1001:1001:::/bin/sh
        """.utf8)

    func testTheUsersLineGivesItsHome() {
        XCTAssertEqual(PasswdFile.home(ofUser: 0, in: text), "/root")
        XCTAssertEqual(PasswdFile.home(ofUser: 1, in: text), "/usr/sbin")
        XCTAssertEqual(PasswdFile.home(ofUser: 1000, in: text), "/home/first", "the first line wins, as in getpwuid")
    }

    func testNoUsableEntryGivesNil() {
        XCTAssertNil(PasswdFile.home(ofUser: 5, in: text), "too few fields")
        XCTAssertNil(PasswdFile.home(ofUser: 7, in: text), "relative home")
        XCTAssertNil(PasswdFile.home(ofUser: 1001, in: text), "empty home")
        XCTAssertNil(PasswdFile.home(ofUser: 4242, in: text), "no such user")
        XCTAssertNil(PasswdFile.home(ofUser: 0, in: []))
    }

    func testThisMachinesFileAgreesWithGetpwuid() throws {
        let passwd = try XCTUnwrap(FileManager.default.contents(atPath: "/etc/passwd"))
        let pw = try XCTUnwrap(getpwuid(getuid()))
        XCTAssertEqual(PasswdFile.home(ofUser: getuid(), in: Array(passwd)), String(cString: pw.pointee.pw_dir))
        XCTAssertEqual(Sys.passwordDatabaseHome(), String(cString: pw.pointee.pw_dir))
    }
}
