import Foundation
import XCTest
import TestSupport

/// The Windows release artifacts (scripts/windows-installer.sh, packaging/windows/dgmo.nsi;
/// docs/release.md, "Windows") made from the windows-x64 DGMO exe (`DGMO_TEST_WINDOWS_BINARY`,
/// default `.build-dgmo/test/dgmo-windows-x64.exe`), Authenticode-signed with a self-signed test
/// certificate made here, and the installer run under wine 10 in a prefix of the class's own:
/// a silent install, the installed `dgmo.exe --version` (`DGMO v<version>`), the "Apps & features"
/// key, the shortcut and PATH, then a silent uninstall that leaves none of them.
///
/// What wine cannot tell (docs/release.md): UAC (wine runs everything as an administrator that never
/// asks), the real ACLs of Program Files and HKLM, SmartScreen and Defender, and whether a real
/// Explorer picks up the PATH broadcast, and junctions (wine's `mklink /j` fails, its `rd /s` follows a
/// unix symlink: the uninstaller's cache removal is not tested against a planted junction);
/// release.yml's `test-windows-x64` job runs the install steps on real Windows.
final class WindowsInstallerTests: XCTestCase {
    static let binary =
        ProcessInfo.processInfo.environment["DGMO_TEST_WINDOWS_BINARY"]
        ?? DGMOTests.work + "/test/dgmo-windows-x64.exe"
    static let uninstallKey = #"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\DGMO"#
    static let environmentKey = #"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment"#
    static let installDir = #"C:\Program Files\DGMO"#
    /// A fixed SOURCE_DATE_EPOCH: the signing time and the zip's dates.
    static let epoch = "1765000000"

    nonisolated(unsafe) static var wineSetup: Result<WindowsTests.Wine, Harness.SetupError> = .failure(
        Harness.SetupError(description: "the class set-up did not run"))

    override class func setUp() {
        super.setUp()
        wineSetup = WindowsTests.makePrefix(name: "windows-installer-tests")
    }

    override class func tearDown() {
        if case .success(let w) = wineSetup { w.remove() }
        wineSetup = .failure(Harness.SetupError(description: "the class tear-down ran"))
        if case .success(let a) = artifacts { try? FileManager.default.removeItem(atPath: a.dir) }
        super.tearDown()
    }

    /// The release's version, as scripts/release.sh reads it.
    static let version: String = {
        let url = Harness.packageRoot.appendingPathComponent("examples/dgmo/package.json")
        let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any]
        return json?["version"] as? String ?? "(no version in examples/dgmo/package.json)"
    }()

    /// The artifacts, built once per run: the certificate, and the signed exe, setup.exe and zip.
    struct Artifacts {
        var dir: String
        var cert: String  // PEM, the CA osslsigncode verify is given
        var p12: String
        var exe: String, setup: String, zip: String
    }

    static let artifacts: Result<Artifacts, Harness.SetupError> = Result {
        guard FileManager.default.fileExists(atPath: binary) else {
            throw Harness.SetupError(
                description:
                    "no windows-x64 DGMO exe at \(binary): build it with 'make dgmo TARGET=windows-x64' and copy it there, or set DGMO_TEST_WINDOWS_BINARY"
            )
        }
        guard AuthenticodeTests.which("osslsigncode") != nil else {
            throw Harness.SetupError(
                description: "osslsigncode is not installed (scripts/install-deps.sh installs it)")
        }
        let dir = try TempDir.make("windows-installer")
        let cert = dir + "/cert.pem", p12 = dir + "/cert.p12"
        for args in [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=DGMO installer test", "-days", "2",
                "-keyout", dir + "/cert.key", "-out", cert,
            ],
            [
                "pkcs12", "-export", "-in", cert, "-inkey", dir + "/cert.key", "-out", p12, "-passout",
                "pass:test password",
            ],
        ] {
            let o = try Harness.run("/usr/bin/openssl", args)
            guard o.status == 0 else {
                throw Harness.SetupError(description: "openssl \(args[0]) failed: \(o.stderr)")
            }
        }
        try build(into: dir + "/out", sbom: try sbom(in: dir), cert: p12)
        let name = "dgmo-\(version)-windows-x64"
        return Artifacts(
            dir: dir, cert: cert, p12: p12, exe: dir + "/out/\(name).exe", setup: dir + "/out/\(name)-setup.exe",
            zip: dir + "/out/\(name).zip")
    }.mapError { $0 as? Harness.SetupError ?? Harness.SetupError(description: "\($0)") }

    /// The SBOM beside the binary (`make dgmo TARGET=windows-x64` writes `<exe>.cdx.json`), else a
    /// stand-in.
    static func sbom(in dir: String) throws -> String {
        if FileManager.default.fileExists(atPath: binary + ".cdx.json") { return binary + ".cdx.json" }
        try Harness.write(
            #"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}"#, to: dir + "/sbom.json")
        return dir + "/sbom.json"
    }

    /// scripts/windows-installer.sh BINARY VERSION OUT SBOM, signed with `cert` when given.
    static func build(into out: String, sbom: String, cert: String?) throws {
        var env = ["SOURCE_DATE_EPOCH": epoch]
        if let cert {
            env["DGMO_WINDOWS_CERT"] = cert
            env["DGMO_WINDOWS_CERT_PASSWORD"] = "test password"
        }
        let o = try Harness.run(
            Harness.packageRoot.path + "/scripts/windows-installer.sh", [binary, version, out, sbom], env: env,
            cwd: Harness.packageRoot.path, timeout: 600)
        guard o.status == 0 else {
            throw Harness.SetupError(description: "scripts/windows-installer.sh failed (\(o.status)): \(o.stderr)")
        }
    }

    func requireArtifacts() throws -> Artifacts {
        switch Self.artifacts {
        case .success(let a): return a
        case .failure(let e):
            try require(false, e.description)
            throw e
        }
    }

    func requireWine() throws -> WindowsTests.Wine {
        switch Self.wineSetup {
        case .success(let w): return w
        case .failure(let e):
            try require(false, e.description)
            throw e
        }
    }

    // MARK: Helpers

    /// `$WINE args` in the class's prefix (the environment WindowsTests gives its runs), in the
    /// prefix's directory: cmd looks for a program in the current directory before PATH, so a
    /// dgmo.exe there would hide the installed one.
    @discardableResult
    func wine(_ args: [String], timeout: TimeInterval = 600) throws -> Harness.Output {
        let w = try requireWine()
        return try Harness.run(w.wine, args, env: w.environment, cwd: w.prefix, timeout: timeout)
    }

    /// Waits until every process of the prefix has ended: an NSIS uninstaller copies itself to
    /// %TEMP% and returns at once, the copy does the work; `wineserver -w` waits for it.
    func waitForPrefix() throws {
        let w = try requireWine()
        let o = try Harness.run(w.wineserver, ["-w"], env: ["WINEPREFIX": w.prefix], timeout: 300)
        XCTAssertEqual(o.status, 0, o.stderr)
    }

    /// A path of drive C: as a Linux path in the prefix.
    func linux(_ windowsPath: String) throws -> String {
        let w = try requireWine()
        precondition(windowsPath.hasPrefix(#"C:\"#))
        return w.prefix + "/drive_c/" + windowsPath.dropFirst(3).replacingOccurrences(of: #"\"#, with: "/")
    }

    /// The values of a registry key (`reg query`), nil when the key does not exist.
    func registry(_ key: String) throws -> [String: String]? {
        let o = try wine(["reg", "query", key])
        guard o.status == 0 else { return nil }
        var values: [String: String] = [:]
        for line in WindowsTests.unix(o.stdout).split(separator: "\n") {
            let fields = line.components(separatedBy: "    ").filter { !$0.isEmpty }
            if fields.count >= 3 && line.hasPrefix("    ") {
                values[fields[0]] = fields[2...].joined(separator: "    ")
            }
        }
        return values
    }

    func machinePath() throws -> [String] {
        // Value names are case-insensitive: wine's prefix has PATH, Windows has Path.
        let values = try registry(Self.environmentKey) ?? [:]
        let path = try XCTUnwrap(
            values.first { $0.key.lowercased() == "path" }?.value, "no Path in \(Self.environmentKey): \(values)")
        return path.split(separator: ";").map(String.init)
    }

    func osslsigncodeVerify(_ file: String, _ a: Artifacts) throws -> Harness.Output {
        try Harness.run(AuthenticodeTests.which("osslsigncode")!, ["verify", "-CAfile", a.cert, "-in", file])
    }

    var shortcut: String {
        get throws { try linux(#"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\DGMO.lnk"#) }
    }
    /// %LOCALAPPDATA%\dgmo of the prefix's user, as a Linux path.
    var cacheDir: String {
        get throws {
            let o = try wine(["cmd", "/c", "echo %LOCALAPPDATA%"])
            let local = o.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try require(
                o.status == 0 && local.hasPrefix(#"C:\"#), "wine cmd /c echo %LOCALAPPDATA%: \(o.stdout) \(o.stderr)")
            return try linux(local + #"\dgmo"#)
        }
    }

    // MARK: Tests

    /// The three files are signed (dgmo.exe before it was packed), the exe is still the bundle it
    /// was, the zip holds the signed exe, and a second build gives the same bytes.
    func testSignedArtifactsAndReproducibility() throws {
        let a = try requireArtifacts()
        for f in [a.exe, a.setup] {
            let v = try osslsigncodeVerify(f, a)
            XCTAssertEqual(v.status, 0, "osslsigncode verify \(f): \(v.stdout) \(v.stderr)")
        }
        let inspect = try Harness.run(Harness.tool, ["inspect", a.exe])
        XCTAssertEqual(inspect.status, 0, "bundle-append inspect of the signed exe: \(inspect.stderr)")
        XCTAssertTrue(inspect.stdout.contains("target:         windows-x64"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("authenticode:   certificate table of"), inspect.stdout)

        // The zip: one folder, sorted entries, the signed exe.
        let list = try Harness.run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import sys, zipfile, hashlib
                z = zipfile.ZipFile(sys.argv[1])
                for i in z.infolist():
                    print(i.filename, i.date_time, hashlib.sha256(z.read(i)).hexdigest())
                """, a.zip,
            ])
        XCTAssertEqual(list.status, 0, list.stderr)
        let lines = list.stdout.split(separator: "\n").map(String.init)
        let name = "dgmo-\(Self.version)-windows-x64/"
        XCTAssertEqual(
            lines.map { String($0.split(separator: " ")[0]) },
            [name, name + "LICENSE.txt", name + "README.txt", name + "dgmo.cdx.json", name + "dgmo.exe"])
        XCTAssertTrue(lines.allSatisfy { $0.contains("(2025, 12, 6, 5, 46, 40)") }, list.stdout)
        let exeDigest = try Harness.run("/usr/bin/sha256sum", [a.exe]).stdout.prefix(64)
        XCTAssertTrue(lines.last?.hasSuffix(String(exeDigest)) ?? false, "the zip's dgmo.exe is the signed one")

        // Same inputs, same bytes (signed without a timestamp server: the signature covers every
        // other byte, so the unsigned files are the same too; not built twice, makensis's compression of
        // 70 MB takes a minute).
        let again = a.dir + "/again"
        try Self.build(into: again, sbom: try Self.sbom(in: a.dir), cert: a.p12)
        for f in [a.exe, a.setup, a.zip] {
            let other = again + "/" + (f as NSString).lastPathComponent
            XCTAssertEqual(try Harness.bytes(f), try Harness.bytes(other), "\(f) differs from a second build")
        }
        let unsigned1 = a.dir + "/unsigned"
        try Self.build(into: unsigned1, sbom: try Self.sbom(in: a.dir), cert: nil)
        XCTAssertNotEqual(
            try osslsigncodeVerify(unsigned1 + "/dgmo-\(Self.version)-windows-x64-setup.exe", a).status, 0,
            "without a certificate the installer is unsigned")
    }

    /// `setup.exe /S`, the installed DGMO runs (by path and from PATH), everything registered;
    /// `uninstall.exe /S` removes it all and keeps the user's cache.
    func testSilentInstallRunAndUninstall() throws {
        let a = try requireArtifacts()
        let setup = try wine([a.setup, "/S"])
        XCTAssertEqual(setup.status, 0, "setup.exe /S: \(setup.stdout) \(setup.stderr)")
        try waitForPrefix()

        let installed = try linux(Self.installDir)
        for f in ["dgmo.exe", "README.txt", "LICENSE.txt", "dgmo.cdx.json", "uninstall.exe"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: installed + "/" + f), "\(f) is not installed")
        }
        XCTAssertEqual(try Harness.bytes(installed + "/dgmo.exe"), try Harness.bytes(a.exe))
        // The uninstaller makensis wrote at install time was signed at build (!uninstfinalize).
        let v = try osslsigncodeVerify(installed + "/uninstall.exe", a)
        XCTAssertEqual(v.status, 0, "the installed uninstall.exe is signed: \(v.stdout) \(v.stderr)")

        let run = try wine([Self.installDir + #"\dgmo.exe"#, "--version"])
        XCTAssertEqual(run.status, 0, "installed dgmo.exe --version: \(run.stdout) \(run.stderr)")
        XCTAssertTrue(
            WindowsTests.unix(run.stdout).contains("DGMO v\(Self.version)"),
            "installed dgmo.exe --version: \(run.stdout) \(run.stderr)")
        // A new wine session reads the machine's PATH from the registry: found by name.
        try waitForPrefix()
        let byName = try wine(["cmd", "/c", "dgmo.exe --version"])
        XCTAssertEqual(byName.status, 0, "dgmo.exe from PATH: \(byName.stdout) \(byName.stderr)")
        XCTAssertTrue(WindowsTests.unix(byName.stdout).contains("DGMO v\(Self.version)"), byName.stdout)

        let key = try XCTUnwrap(try registry(Self.uninstallKey), "no \(Self.uninstallKey)")
        XCTAssertEqual(key["DisplayName"], "DGMO")
        XCTAssertEqual(key["DisplayVersion"], Self.version)
        XCTAssertEqual(key["Publisher"], "The DGMO authors")
        XCTAssertEqual(key["InstallLocation"], Self.installDir)
        XCTAssertEqual(key["UninstallString"], "\"\(Self.installDir)\\uninstall.exe\"")
        XCTAssertEqual(key["QuietUninstallString"], "\"\(Self.installDir)\\uninstall.exe\" /S")
        XCTAssertEqual(key["NoModify"], "0x1")
        XCTAssertEqual(key["NoRepair"], "0x1")
        XCTAssertNotNil(key["EstimatedSize"])
        XCTAssertEqual(key["PathAdded"], "0x1", "the installer added the Path entry")
        XCTAssertTrue(FileManager.default.fileExists(atPath: try shortcut), "no Start-menu shortcut")
        var path = try machinePath()
        XCTAssertEqual(path.filter { $0 == Self.installDir }.count, 1, "PATH: \(path)")

        // A second install (an upgrade in place) does not add PATH twice.
        XCTAssertEqual(try wine([a.setup, "/S"]).status, 0)
        try waitForPrefix()
        path = try machinePath()
        XCTAssertEqual(path.filter { $0 == Self.installDir }.count, 1, "PATH: \(path)")

        // The cache: made by the run above (or here, for a stand-in), kept by a silent uninstall.
        try FileManager.default.createDirectory(atPath: try cacheDir, withIntermediateDirectories: true)
        let uninstall = try wine([Self.installDir + #"\uninstall.exe"#, "/S"])
        XCTAssertEqual(uninstall.status, 0, "uninstall.exe /S: \(uninstall.stdout) \(uninstall.stderr)")
        try waitForPrefix()
        XCTAssertFalse(FileManager.default.fileExists(atPath: installed), "\(installed) is left")
        XCTAssertNil(try registry(Self.uninstallKey), "\(Self.uninstallKey) is left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: try shortcut), "the shortcut is left")
        path = try machinePath()
        XCTAssertFalse(path.contains(Self.installDir), "PATH: \(path)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: try cacheDir), "a silent uninstall keeps the cache")
        try? FileManager.default.removeItem(atPath: try cacheDir)
    }

    /// /PATH=0 leaves PATH alone, /D= chooses the directory (a raw command line, through cmd: NSIS
    /// wants /D= last and unquoted), and the entries of other programs after ours survive;
    /// /REMOVECACHE removes the cache.
    func testPathSwitchDirectoryAndRemoveCache() throws {
        let a = try requireArtifacts()
        let before = try machinePath()
        let dir = #"C:\Tools\My DGMO"#
        let setup = (a.setup as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: a.setup, toPath: try linux(#"C:\"# + setup))
        XCTAssertEqual(try wine(["cmd", "/c", #"C:\"# + setup + #" /S /PATH=0 /D="# + dir]).status, 0)
        try waitForPrefix()
        XCTAssertTrue(FileManager.default.fileExists(atPath: try linux(dir + #"\dgmo.exe"#)))
        XCTAssertEqual(try registry(Self.uninstallKey)?["InstallLocation"], dir)
        XCTAssertEqual(try machinePath(), before, "/PATH=0 changed PATH")
        XCTAssertEqual(try wine(["cmd", "/c", #"C:\"# + setup + #" /S /D="# + dir]).status, 0)
        try waitForPrefix()
        XCTAssertEqual(try machinePath(), before + [dir])
        // Another program's entry after ours stays; ours goes.
        let other = #"C:\Other Program"#
        let add = try wine([
            "reg", "add", Self.environmentKey, "/v", "Path", "/t", "REG_EXPAND_SZ", "/d",
            (before + [dir, other]).joined(separator: ";"), "/f",
        ])
        XCTAssertEqual(add.status, 0, add.stderr)
        try FileManager.default.createDirectory(atPath: try cacheDir + "/layer", withIntermediateDirectories: true)
        XCTAssertEqual(try wine([dir + #"\uninstall.exe"#, "/S", "/REMOVECACHE"]).status, 0)
        try waitForPrefix()
        XCTAssertEqual(try machinePath(), before + [other])
        XCTAssertFalse(FileManager.default.fileExists(atPath: try linux(dir)), "\(dir) is left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: try cacheDir), "/REMOVECACHE kept the cache")
        XCTAssertNil(try registry(Self.uninstallKey))
        _ = try wine([
            "reg", "add", Self.environmentKey, "/v", "Path", "/t", "REG_EXPAND_SZ", "/d",
            before.joined(separator: ";"), "/f",
        ])
    }

    /// NSIS strings hold 1024 characters: ReadRegStr of a longer Path returns "" (measured: without
    /// the installer's check a 1515-character Path became the install directory alone). A Path too
    /// long to edit whole is left alone by the installer and the uninstaller.
    func testLongPathIsLeftAlone() throws {
        let a = try requireArtifacts()
        let before = try machinePath()
        let long = before + (1...120).map { String(format: #"C:\dir%03d\bin"#, $0) }
        let set = { (entries: [String]) in
            try self.wine([
                "reg", "add", Self.environmentKey, "/v", "Path", "/t", "REG_EXPAND_SZ", "/d",
                entries.joined(separator: ";"), "/f",
            ])
        }
        XCTAssertEqual(try set(long).status, 0)
        XCTAssertGreaterThan(long.joined(separator: ";").count, 1024)
        XCTAssertEqual(try wine([a.setup, "/S"]).status, 0)
        try waitForPrefix()
        XCTAssertTrue(FileManager.default.fileExists(atPath: try linux(Self.installDir + #"\dgmo.exe"#)))
        XCTAssertEqual(try machinePath(), long, "the installer changed a Path longer than 1024 characters")
        XCTAssertEqual(try wine([Self.installDir + #"\uninstall.exe"#, "/S"]).status, 0)
        try waitForPrefix()
        XCTAssertEqual(try machinePath(), long, "the uninstaller changed a Path longer than 1024 characters")
        XCTAssertNil(try registry(Self.uninstallKey))
        XCTAssertEqual(try set(before).status, 0)
    }

    /// `setup.exe` ARGS through cmd (NSIS wants /D= last and unquoted), the setup copied to
    /// C:\dgmo-setup.exe (not the name testPathSwitchDirectoryAndRemoveCache copies it to).
    func setupThroughCmd(_ a: Artifacts, _ args: String) throws -> Harness.Output {
        let copy = try linux(#"C:\dgmo-setup.exe"#)
        if !FileManager.default.fileExists(atPath: copy) {
            try FileManager.default.copyItem(atPath: a.setup, toPath: copy)
        }
        let o = try wine(["cmd", "/c", #"C:\dgmo-setup.exe "# + args])
        try waitForPrefix()
        return o
    }

    /// A Path entry that was there before the install stays after the uninstall: with /PATH=0, and with
    /// /PATH=1 (the installer finds the entry, adds nothing and records no PathAdded).
    func testExistingPathEntryIsKept() throws {
        let a = try requireArtifacts()
        let before = try machinePath()
        let dir = #"C:\Already On Path"#
        let set = { (entries: [String]) in
            try self.wine([
                "reg", "add", Self.environmentKey, "/v", "Path", "/t", "REG_EXPAND_SZ", "/d",
                entries.joined(separator: ";"), "/f",
            ])
        }
        XCTAssertEqual(try set(before + [dir]).status, 0)
        defer { _ = try? set(before) }
        for args in ["/S /PATH=0 /D=" + dir, "/S /D=" + dir] {
            let setup = try setupThroughCmd(a, args)
            XCTAssertEqual(setup.status, 0, "setup.exe \(args): \(setup.stdout) \(setup.stderr)")
            XCTAssertEqual(try registry(Self.uninstallKey)?["InstallLocation"], dir)
            XCTAssertNil(try registry(Self.uninstallKey)?["PathAdded"], "\(args): PathAdded for an entry already there")
            XCTAssertEqual(try machinePath(), before + [dir], args)
            XCTAssertEqual(try wine([dir + #"\uninstall.exe"#, "/S"]).status, 0)
            try waitForPrefix()
            XCTAssertFalse(FileManager.default.fileExists(atPath: try linux(dir)), "\(args): \(dir) is left")
            XCTAssertEqual(
                try machinePath(), before + [dir], "\(args): the uninstaller removed an entry it did not add")
        }
    }

    /// A directory with other files (here another program's README.txt and uninstall.exe, which ours
    /// would overwrite and the uninstaller delete) is refused: exit code 2, nothing written.
    func testForeignDirectoryIsRefused() throws {
        let a = try requireArtifacts()
        let dir = #"C:\Other Tools"#
        let linuxDir = try linux(dir)
        try FileManager.default.createDirectory(atPath: linuxDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: linuxDir) }
        try Harness.write("theirs", to: linuxDir + "/README.txt")
        try Harness.write("theirs", to: linuxDir + "/uninstall.exe")
        let setup = try setupThroughCmd(a, "/S /D=" + dir)
        XCTAssertEqual(setup.status, 2, "setup.exe into a foreign directory: \(setup.stdout) \(setup.stderr)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: linuxDir).sorted(), ["README.txt", "uninstall.exe"])
        XCTAssertEqual(try String(contentsOfFile: linuxDir + "/README.txt", encoding: .utf8), "theirs")
        XCTAssertNil(try registry(Self.uninstallKey), "a refused install registered itself")
    }

    /// An upgrade while the installed dgmo.exe runs: the running image is renamed aside
    /// (.dgmo.exe.old-setup), the new dgmo.exe written, exit code 0; after it ends, the uninstaller
    /// removes that and a `dgmo update` leftover (.dgmo.exe.update-*) with the directory.
    func testUpgradeWhileRunning() throws {
        let a = try requireArtifacts()
        let w = try requireWine()
        XCTAssertEqual(try wine([a.setup, "/S", "/PATH=0"]).status, 0)
        try waitForPrefix()
        let installed = try linux(Self.installDir)
        let watched = try TempDir.make("windows-installer-watch")
        defer { try? FileManager.default.removeItem(atPath: watched) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: w.wine)
        p.arguments = [
            Self.installDir + #"\dgmo.exe"#, "watch", "--timeout", "40s",
            "Z:" + watched.replacingOccurrences(of: "/", with: #"\"#),
        ]
        p.environment = w.environment
        p.currentDirectoryURL = URL(fileURLWithPath: w.prefix)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Running once wine shows it as a process of its own (its command line is the Windows one).
        var running = false
        for _ in 0..<60 where !running {
            Thread.sleep(forTimeInterval: 1)
            let ps = try Harness.run("/bin/ps", ["-eo", "args"])
            running = ps.stdout.split(separator: "\n").contains {
                $0.hasPrefix(#"C:\Program Files\DGMO\dgmo.exe watch"#)
            }
        }
        try require(running, "the installed dgmo.exe watch did not start")
        Thread.sleep(forTimeInterval: 2)
        let upgrade = try wine([a.setup, "/S", "/PATH=0"])
        XCTAssertEqual(upgrade.status, 0, "setup.exe /S while dgmo.exe runs: \(upgrade.stdout) \(upgrade.stderr)")
        XCTAssertEqual(try Harness.bytes(installed + "/dgmo.exe"), try Harness.bytes(a.exe))
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: installed + "/.dgmo.exe.old-setup"),
            "the running dgmo.exe was not moved aside")
        p.waitUntilExit()
        try waitForPrefix()
        try Harness.write("", to: installed + "/.dgmo.exe.update-1234")
        XCTAssertEqual(try wine([Self.installDir + #"\uninstall.exe"#, "/S"]).status, 0)
        try waitForPrefix()
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: installed),
            "\(installed) is left: \((try? FileManager.default.contentsOfDirectory(atPath: installed)) ?? [])")
        XCTAssertNil(try registry(Self.uninstallKey))
    }
}
