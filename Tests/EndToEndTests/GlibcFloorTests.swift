import Foundation
import XCTest

/// The glibc floor of the built DGMO binary, measured from every ELF file it carries: nothing may
/// need a GLIBC_x.y symbol version newer than 2.17 (RHEL/CentOS 7), except the files of a layer
/// that carries its own loader and C library — those are checked to resolve every library inside
/// that layer, to need only symbol versions that C library defines, and are run through it.
/// The scan is this file's own (readelf's version tables, ELF files found by their magic bytes,
/// whatever their name or mode); scripts/lib/glibc-floor.sh, which writes the package metadata,
/// must arrive at the same floor.
final class GlibcFloorTests: XCTestCase {
    static let floor = [2, 17]
    static let loaderName = "ld-linux-x86-64.so.2"
    var dir = ""

    override func setUpWithError() throws {
        try Harness.requireDGMOBinary()
        dir = try Harness.makeTempDir()
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func isELF(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 4)) == Data([0x7f, 0x45, 0x4c, 0x46])
    }

    /// Every regular file under `root` that is an ELF file (symlinks skipped: their targets are scanned).
    static func elfFiles(_ root: String) -> [String] {
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let rel = e?.nextObject() as? String {
            var st = stat()
            if lstat(root + "/" + rel, &st) == 0, st.st_mode & S_IFMT == S_IFREG, isELF(root + "/" + rel) {
                out.append(root + "/" + rel)
            }
        }
        return out.sorted()
    }

    /// Symbol versions a file needs (`.gnu.version_r`) and defines (`.gnu.version_d`).
    static func versions(_ path: String) throws -> (needs: Set<String>, defines: Set<String>) {
        let o = try Harness.run("/usr/bin/readelf", ["-V", "-W", path])
        XCTAssertEqual(o.status, 0, "readelf -V \(path): \(o.stderr)")
        var needs = Set<String>(), defines = Set<String>(), section = ""
        for line in o.stdout.split(separator: "\n") {
            if line.hasPrefix("Version needs section") { section = "needs"; continue }
            if line.hasPrefix("Version definition section") { section = "defines"; continue }
            if line.hasPrefix("Version symbols section") { section = ""; continue }
            let w = line.split(separator: " ")
            guard let i = w.firstIndex(of: "Name:"), i + 1 < w.count else { continue }
            if section == "needs" {
                needs.insert(String(w[i + 1]))
            } else if section == "defines" {
                defines.insert(String(w[i + 1]))
            }
        }
        return (needs, defines)
    }

    static func glibc(_ name: String) -> [Int]? {
        guard name.hasPrefix("GLIBC_") else { return nil }
        let parts = name.dropFirst(6).split(separator: ".").compactMap { Int($0) }
        return parts.isEmpty ? nil : parts
    }

    static func newestGlibc(_ names: Set<String>) -> [Int]? {
        names.compactMap(glibc).max { $0.lexicographicallyPrecedes($1) }
    }

    static func dotted(_ v: [Int]?) -> String { v.map { $0.map(String.init).joined(separator: ".") } ?? "none" }

    func extract() throws -> String {
        let layers = dir + "/layers"
        let o = try Harness.run(
            DGMOTests.binary, ["--launcher", "extract", layers], env: ["DGMO_CACHE_DIR": dir + "/cache"], timeout: 300)
        XCTAssertEqual(o.status, 0, o.stderr)
        return layers
    }

    func testEveryELFNeedsAtMostGlibc217OrRunsOnItsOwnLoader() throws {
        let layers = try extract()
        var seen: [String: Int] = [:]
        var measuredFloor: [Int] = []
        // The stub itself (static today: it needs nothing).
        if let v = Self.newestGlibc(try Self.versions(DGMOTests.binary).needs) {
            XCTAssertFalse(Self.floor.lexicographicallyPrecedes(v), "the launcher stub needs GLIBC_\(Self.dotted(v))")
            if measuredFloor.lexicographicallyPrecedes(v) { measuredFloor = v }
        }
        for layer in try FileManager.default.contentsOfDirectory(atPath: layers).sorted() {
            let root = layers + "/" + layer
            let elves = Self.elfFiles(root)
            seen[layer] = elves.count
            if let loader = elves.first(where: { ($0 as NSString).lastPathComponent == Self.loaderName }) {
                try checkOwnLoaderLayer(root, elves: elves, loader: loader)
                continue
            }
            for f in elves {
                if let v = Self.newestGlibc(try Self.versions(f).needs) {
                    XCTAssertFalse(
                        Self.floor.lexicographicallyPrecedes(v),
                        "\(layer): \(f.dropFirst(root.count + 1)) needs GLIBC_\(Self.dotted(v)), newer than 2.17")
                    if measuredFloor.lexicographicallyPrecedes(v) { measuredFloor = v }
                }
            }
        }
        // The scan looked at what DGMO carries: Bun, the Go programs and the PyInstaller tree.
        XCTAssertEqual(seen["bun"], 1, "\(seen)")
        XCTAssertEqual(seen["native"], 3, "\(seen)")
        XCTAssertGreaterThan(seen["python"] ?? 0, 20, "\(seen)")
        XCTAssertEqual(measuredFloor, Self.floor, "Bun needs exactly GLIBC_2.17, so that is the floor")

        // The package metadata is computed by scripts/lib/glibc-floor.sh: it must measure the same.
        let script = Harness.packageRoot.appendingPathComponent("scripts/lib/glibc-floor.sh").path
        let s = try Harness.run(
            "/bin/bash", [script, DGMOTests.binary], env: ["DGMO_CACHE_DIR": dir + "/cache"], timeout: 300)
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(s.stdout, Self.dotted(measuredFloor) + "\n")
    }

    /// A layer with its own loader: every library any of its ELF files needs resolves inside the
    /// layer (the loader's `--list`), every GLIBC_x.y it needs is defined by the C library it
    /// carries, and the program runs through that loader with an empty environment.
    func checkOwnLoaderLayer(_ root: String, elves: [String], loader: String) throws {
        let libDir = (loader as NSString).deletingLastPathComponent
        let (problems, listed) = try Self.ownLoaderProblems(root, elves: elves, loader: loader)
        XCTAssertEqual(problems, [], "\(root): files that would not run on the C library the layer carries")
        XCTAssertGreaterThan(listed, 20, "the loader resolved the layer's libraries")
        // The PyInstaller bootloader, through the loader, as the dgmo-engine entry runs it.
        let engine = root + "/embedded-resources/python-runtime/dgm-engine/dgm-engine"
        let o = try Harness.run(
            "/usr/bin/env",
            ["-i", loader, "--library-path", libDir, engine, "evolve", "--seed", "1", "--generations", "2"])
        XCTAssertEqual(o.status, 0, o.stderr)
        XCTAssertTrue(o.stdout.hasPrefix("generation 1: best score -"), o.stdout)
    }

    /// The scan is not vacuous: the engine's CPython, built on this machine, needs a glibc newer
    /// than 2.17, and the scan sees it (this is why the Python layer carries its own).
    func testTheScanSeesTheBuildMachinesGlibcInCPython() throws {
        let layers = try extract()
        let libpython = Self.elfFiles(layers + "/python").first {
            ($0 as NSString).lastPathComponent.hasPrefix("libpython3")
        }
        let needs = try Self.versions(try XCTUnwrap(libpython, "the Python layer holds libpython")).needs
        let v = try XCTUnwrap(Self.newestGlibc(needs))
        XCTAssertTrue(Self.floor.lexicographicallyPrecedes(v), "libpython needs GLIBC_\(Self.dotted(v))")
    }

    /// What would keep a file of an own-loader layer from running on that layer's C library:
    /// a GLIBC_x.y it needs that the carried glibc does not define, a library the loader would
    /// take from the system, or a library it cannot find at all (`--list` then fails with 127;
    /// only a file with no dynamic section, which `--list` cannot take, is skipped). Also returns
    /// how many libraries the loader resolved.
    static func ownLoaderProblems(_ root: String, elves: [String], loader: String) throws -> (
        problems: [String], listed: Int
    ) {
        let libDir = (loader as NSString).deletingLastPathComponent
        var problems: [String] = []
        var needs = Set<String>(), defines = Set<String>()
        for f in elves {
            let v = try versions(f)
            needs.formUnion(v.needs)
            if (f as NSString).deletingLastPathComponent == libDir { defines.formUnion(v.defines) }
        }
        for missing in needs.filter({ $0.hasPrefix("GLIBC_") && !defines.contains($0) }).sorted() {
            problems.append("needs \(missing), which the C library in \(libDir) does not define")
        }
        if !(defines.contains("GLIBC_2.17") && defines.contains("GLIBC_PRIVATE")) {
            problems.append("\(libDir) does not carry a whole glibc")
        }
        var listed = 0
        for f in elves where f != loader {
            let name = String(f.dropFirst(root.count + 1))
            let o = try Harness.run(loader, ["--library-path", libDir, "--list", f])
            guard o.status == 0 else {
                let d = try Harness.run("/usr/bin/readelf", ["-d", "-W", f])
                if d.stdout.contains("There is no dynamic section") { continue }  // static: loads nothing
                problems.append(
                    "\(name): the loader cannot load it (status \(o.status)): \(o.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
                )
                continue
            }
            for line in o.stdout.split(separator: "\n") {
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.contains("not found") { problems.append("\(name): \(text)") }
                let target = text.components(separatedBy: "=> ").last ?? text
                guard target.hasPrefix("/") else { continue }  // linux-vdso.so.1
                let path = String(target.split(separator: " ").first ?? "")
                if !path.hasPrefix(root + "/") { problems.append("\(name) would load \(path) from the system") }
                listed += 1
            }
        }
        return (problems, listed)
    }

    /// The own-loader check is not vacuous: a file that needs a library neither the layer nor the
    /// system has (the loader's `--list` fails with 127, it prints no "not found"), one that would
    /// load a library from the system, and a static file (skipped, not an error).
    func testOwnLoaderCheckCatchesMissingAndSystemLibraries() throws {
        let root = dir + "/layer", lib = root + "/lib"
        try FileManager.default.createDirectory(atPath: lib, withIntermediateDirectories: true)
        // The C library this machine's programs use stands in for a carried one.
        for name in [Self.loaderName, "libc.so.6"] {
            let real = try Harness.run("/usr/bin/realpath", ["/lib/x86_64-linux-gnu/" + name]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try FileManager.default.copyItem(atPath: real, toPath: lib + "/" + name)
        }
        try Harness.write("int f(void) { return 0; }\n", to: dir + "/f.c")
        try Harness.write("int f(void); int main(void) { return f(); }\n", to: dir + "/main.c")
        try Harness.write("#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n", to: dir + "/z.c")
        func cc(_ args: [String]) throws {
            let o = try Harness.run("/usr/bin/gcc", args, cwd: dir); XCTAssertEqual(o.status, 0, o.stderr)
        }
        try cc(["-shared", "-fPIC", "-o", "libgone.so", "f.c"])
        try cc(["-o", root + "/needs-gone", "main.c", "-L.", "-lgone"])
        try cc(["-o", root + "/needs-zlib", "z.c", "-lz"])
        try cc(["-static", "-o", root + "/static", "main.c", "f.c"])
        let elves = Self.elfFiles(root)
        let (problems, _) = try Self.ownLoaderProblems(root, elves: elves, loader: lib + "/" + Self.loaderName)
        XCTAssertTrue(
            problems.contains {
                $0.hasPrefix("needs-gone: the loader cannot load it (status 127)") && $0.contains("libgone.so")
            }, "\(problems)")
        XCTAssertTrue(
            problems.contains { $0.hasPrefix("needs-zlib would load /") && $0.contains("libz.so.1") }, "\(problems)")
        XCTAssertFalse(problems.contains { $0.hasPrefix("static") }, "a static file is skipped: \(problems)")
        XCTAssertEqual(problems.count, 2, "\(problems)")
    }
}
