import Foundation
import XCTest
@testable import BundleBuilder
import TestSupport

/// The built-in ELF reader (`ElfReader`, behind `ElfScan` and the glibc floor): it must read what
/// `readelf -d -V` reads from real files, read ELF32 and ELF64 of either byte order, with or
/// without section headers, and turn every damaged or hostile file into an error, never a crash
/// or a hang.
final class ElfReaderTests: XCTestCase {
    // MARK: Against readelf

    /// What readelf's `-d -V -W` output says of each of `paths`: `DT_NEEDED` names (in order), the
    /// "Name:" lines of the version needs section and those of the version definition section
    /// (its "Parent" lines name no new version). It was the build's reader before `ElfReader`.
    static func readelf(_ paths: [String]) throws -> [String: ElfScan.Info] {
        let out = try ProcessRunner.run("/usr/bin/readelf", ["-d", "-V", "-W"] + paths).stdout
        var result: [String: ElfScan.Info] = [:]
        // With several files readelf heads each one's output with "File: PATH"; with one it does not.
        var current = paths.count == 1 ? paths[0] : ""
        var section = ""
        for line in out.split(separator: "\n") {
            if line.hasPrefix("File: ") { current = String(line.dropFirst(6)); section = ""; continue }
            if line.hasPrefix("Version needs section") { section = "needs"; continue }
            if line.hasPrefix("Version definition section") { section = "defines"; continue }
            if line.hasPrefix("Version symbols section") || line.hasPrefix("Dynamic section") { section = ""; continue }
            if line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") {
                result[current, default: ElfScan.Info()].needed.append(String(line[line.index(after: open)..<close]))
                continue
            }
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "Name:"), i + 1 < words.count else { continue }
            if section == "needs" {
                result[current, default: ElfScan.Info()].needs.insert(String(words[i + 1]))
            } else if section == "defines" {
                result[current, default: ElfScan.Info()].defines.insert(String(words[i + 1]))
            }
        }
        for p in paths where result[p] == nil { result[p] = ElfScan.Info() }
        return result
    }

    /// A program, the C library and its loader, libm, and whatever C++ and compression libraries
    /// this system has: what `ElfScan` reads of each equals what readelf prints.
    func testSystemFilesReadAsReadelfReadsThem() throws {
        try require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/readelf"),
            "needs /usr/bin/readelf to compare with: apt-get install binutils")
        let lib = "/usr/lib/x86_64-linux-gnu/"
        let candidates =
            ["/usr/bin/env", "/usr/bin/readelf"]
            + ["libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "libstdc++.so.6", "libz.so.1", "libzstd.so.1"].map {
                lib + $0
            }
        let paths = candidates.map { ($0 as NSString).resolvingSymlinksInPath }.filter { ElfScan.isELF($0) }
        try require(paths.count >= 4, "needs an x86_64 Debian-like system: found only \(paths)")
        let expected = try Self.readelf(paths)
        let (info, damaged) = ElfScan.scan(paths)
        XCTAssertEqual(damaged, [:])
        for p in paths {
            XCTAssertEqual(info[p], expected[p], p)
            // With its section headers stripped (e_shoff, e_shnum zero), the dynamic segment says the same.
            XCTAssertEqual(try read(Self.withoutSectionHeaders(p)).get(), expected[p], p)
        }
        // They are not empty: the program needs glibc, libc.so.6 defines its versions.
        XCTAssertNotNil(ElfScan.newest(info["/usr/bin/env"]?.needs ?? []))
        XCTAssertTrue(info.values.contains { $0.defines.contains("GLIBC_2.2.5") })
    }

    /// The bytes of the little-endian ELF64 file at `path` with e_shoff and e_shnum zeroed, as
    /// `sstrip` leaves a file.
    static func withoutSectionHeaders(_ path: String) throws -> [UInt8] {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for i in 40..<48 { bytes[i] = 0 }
        bytes[60] = 0
        bytes[61] = 0
        return bytes
    }

    // MARK: Hand-made files

    /// A minimal executable: ELF header, a PT_LOAD covering the whole file and a PT_DYNAMIC, then
    /// .dynstr, .gnu.version_r, .gnu.version_d, .dynamic, and the section headers (null first).
    struct MiniElf {
        var is64 = true
        var bigEndian = false
        var needed = ["libc.so.6", "libfoo.so.1"]
        var needs: [(file: String, versions: [String])] = [
            ("libc.so.6", ["GLIBC_2.2.5", "GLIBC_2.34"]), ("libfoo.so.1", ["FOO_1.0"]),
        ]
        var defines = ["libbar.so.2", "BAR_1.0"]
        var sectionHeaders = true
        static let base: UInt64 = 0x40_0000

        /// Where the parts start, in the file.
        var verneedOffset = 0, verdefOffset = 0, dynamicOffset = 0, shoff = 0, dynstrOffset = 0
        var bytes: [UInt8] = []

        var info: ElfScan.Info {
            var i = ElfScan.Info()
            i.needed = needed
            i.needs = Set(needs.flatMap { $0.versions })
            i.defines = Set(defines)
            return i
        }

        mutating func put(_ v: UInt64, _ width: Int, at: Int) {
            for i in 0..<width {
                bytes[at + (bigEndian ? width - 1 - i : i)] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))
            }
        }
        mutating func word(_ v: UInt64, at: Int) { put(v, is64 ? 8 : 4, at: at) }

        mutating func build() -> [UInt8] {
            let ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32, shentsize = is64 ? 64 : 40
            let dynentsize = is64 ? 16 : 8
            // .dynstr
            var strtab: [UInt8] = [0]
            var index: [String: Int] = [:]
            for s in needed + needs.flatMap({ [$0.file] + $0.versions }) + defines where index[s] == nil {
                index[s] = strtab.count
                strtab += Array(s.utf8) + [0]
            }
            dynstrOffset = ehsize + 2 * phentsize
            verneedOffset = dynstrOffset + strtab.count
            let verneedSize = needs.reduce(0) { $0 + 16 + 16 * $1.versions.count }
            verdefOffset = verneedOffset + verneedSize
            let verdefSize = 28 * defines.count
            dynamicOffset = verdefOffset + verdefSize
            let dynamicCount = needed.count + 7
            shoff = dynamicOffset + dynamicCount * dynentsize
            let size = shoff + 5 * shentsize
            bytes = [UInt8](repeating: 0, count: size)
            let b = Self.base
            // ELF header: ET_EXEC, EM_X86_64, version 1.
            bytes[0..<7] = [0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, bigEndian ? 2 : 1, 1]
            put(2, 2, at: 16)
            put(62, 2, at: 18)
            put(1, 4, at: 20)
            word(UInt64(ehsize), at: is64 ? 32 : 28)  // e_phoff
            word(sectionHeaders ? UInt64(shoff) : 0, at: is64 ? 40 : 32)
            put(UInt64(ehsize), 2, at: is64 ? 52 : 40)
            put(UInt64(phentsize), 2, at: is64 ? 54 : 42)
            put(2, 2, at: is64 ? 56 : 44)
            put(UInt64(shentsize), 2, at: is64 ? 58 : 46)
            put(sectionHeaders ? 5 : 0, 2, at: is64 ? 60 : 48)
            // Program headers: PT_LOAD of the whole file at `base`, PT_DYNAMIC.
            for (i, (type, offset, filesz)) in [(1, 0, size), (2, dynamicOffset, dynamicCount * dynentsize)]
                .enumerated()
            {
                let at = ehsize + i * phentsize
                put(UInt64(type), 4, at: at)
                word(UInt64(offset), at: at + (is64 ? 8 : 4))
                word(b + UInt64(offset), at: at + (is64 ? 16 : 8))
                word(UInt64(filesz), at: at + (is64 ? 32 : 16))
                word(UInt64(filesz), at: at + (is64 ? 40 : 20))
            }
            bytes[dynstrOffset..<dynstrOffset + strtab.count] = strtab[...]
            // Verneed entries, each followed by its Vernaux entries.
            var at = verneedOffset
            for (k, n) in needs.enumerated() {
                put(1, 2, at: at)
                put(UInt64(n.versions.count), 2, at: at + 2)
                put(UInt64(index[n.file]!), 4, at: at + 4)
                put(16, 4, at: at + 8)
                put(k == needs.count - 1 ? 0 : UInt64(16 + 16 * n.versions.count), 4, at: at + 12)
                for (j, v) in n.versions.enumerated() {
                    let x = at + 16 + 16 * j
                    put(UInt64(index[v]!), 4, at: x + 8)
                    put(j == n.versions.count - 1 ? 0 : 16, 4, at: x + 12)
                }
                at += 16 + 16 * n.versions.count
            }
            // Verdef entries, each followed by one Verdaux.
            for (k, d) in defines.enumerated() {
                let e = verdefOffset + 28 * k
                put(1, 2, at: e)
                put(UInt64(k + 1), 2, at: e + 4)
                put(1, 2, at: e + 6)
                put(20, 4, at: e + 12)
                put(k == defines.count - 1 ? 0 : 28, 4, at: e + 16)
                put(UInt64(index[d]!), 4, at: e + 20)
            }
            // .dynamic
            let tags: [(UInt64, UInt64)] =
                needed.map { (1, UInt64(index[$0]!)) } + [
                    (5, b + UInt64(dynstrOffset)), (10, UInt64(strtab.count)),
                    (0x6fff_fffe, b + UInt64(verneedOffset)), (0x6fff_ffff, UInt64(needs.count)),
                    (0x6fff_fffc, b + UInt64(verdefOffset)), (0x6fff_fffd, UInt64(defines.count)), (0, 0),
                ]
            for (i, (tag, value)) in tags.enumerated() {
                word(tag, at: dynamicOffset + i * dynentsize)
                word(value, at: dynamicOffset + i * dynentsize + dynentsize / 2)
            }
            // Section headers: null, .dynstr, .gnu.version_r, .gnu.version_d, .dynamic.
            let sections: [(type: UInt64, offset: Int, size: Int, link: UInt64, info: UInt64)] = [
                (3, dynstrOffset, strtab.count, 0, 0),
                (0x6fff_fffe, verneedOffset, verneedSize, 1, UInt64(needs.count)),
                (0x6fff_fffd, verdefOffset, verdefSize, 1, UInt64(defines.count)),
                (6, dynamicOffset, dynamicCount * dynentsize, 1, 0),
            ]
            for (i, s) in sections.enumerated() {
                let h = shoff + (i + 1) * shentsize
                put(s.type, 4, at: h + 4)
                word(b + UInt64(s.offset), at: h + (is64 ? 16 : 12))
                word(UInt64(s.offset), at: h + (is64 ? 24 : 16))
                word(UInt64(s.size), at: h + (is64 ? 32 : 20))
                put(s.link, 4, at: h + (is64 ? 40 : 24))
                put(s.info, 4, at: h + (is64 ? 44 : 28))
            }
            return bytes
        }

        /// The built file with `patch` applied to it (offsets from `self`, after `build`).
        mutating func build(_ patch: (inout MiniElf) -> Void) -> [UInt8] {
            _ = build()
            patch(&self)
            return bytes
        }
    }

    func read(_ bytes: [UInt8]) -> Result<ElfScan.Info, ElfFormatError> { ElfReader.read(.init(bytes)) }

    func error(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        guard case .failure(let e) = read(bytes) else {
            XCTFail("read as ELF: \(read(bytes))", file: file, line: line)
            return ""
        }
        return e.message
    }

    /// ELF32 and ELF64, little- and big-endian, with section headers and without (found through
    /// the dynamic segment instead).
    func testEveryClassByteOrderAndStrippedSectionHeadersReadTheSame() throws {
        for is64 in [true, false] {
            for bigEndian in [false, true] {
                for sectionHeaders in [true, false] {
                    var e = MiniElf(is64: is64, bigEndian: bigEndian, sectionHeaders: sectionHeaders)
                    let bytes = e.build()
                    XCTAssertEqual(
                        try read(bytes).get(), e.info,
                        "64-bit \(is64), big-endian \(bigEndian), sections \(sectionHeaders)")
                }
            }
        }
        // A program needing only libc, defining nothing; a static one (no dynamic segment) needs nothing.
        var small = MiniElf(needed: ["libc.so.6"], needs: [("libc.so.6", ["GLIBC_2.17"])], defines: [])
        XCTAssertEqual(try read(small.build()).get(), small.info)
        var none = MiniElf(needed: [], needs: [], defines: [])
        let bytes = none.build {
            $0.put(0, 4, at: 64 + 56)  // PT_DYNAMIC becomes PT_NULL
            $0.put(0, 4, at: $0.shoff + 4 * 64 + 4)  // .dynamic becomes SHT_NULL
        }
        XCTAssertEqual(try read(bytes).get(), ElfScan.Info())
        // A relocatable object needs nothing, whatever it holds.
        var object = MiniElf()
        XCTAssertEqual(try read(object.build { $0.put(1, 2, at: 16) }).get(), ElfScan.Info())
    }

    /// Every prefix of a file is an error (the section headers are last), never a crash.
    func testTruncatedFilesAreErrors() {
        for is64 in [true, false] {
            var e = MiniElf(is64: is64)
            let bytes = e.build()
            for n in 0..<bytes.count {
                guard case .failure(let err) = read(Array(bytes[..<n])) else {
                    return XCTFail("\(n) of \(bytes.count) bytes (64-bit \(is64)) read as whole")
                }
                XCTAssertFalse(err.message.isEmpty)
            }
            // Without section headers the dynamic segment is last: cutting it is an error too.
            var stripped = MiniElf(is64: is64, sectionHeaders: false)
            let whole = stripped.build()
            XCTAssertNotNil(try? read(whole).get())
            XCTAssertTrue(error(Array(whole.prefix(stripped.shoff - 1))).contains("past the end"))
        }
    }

    func testHostileCountsOffsetsAndChainsAreErrors() {
        var e = MiniElf()
        let sh = { (e: MiniElf, i: Int) in e.shoff + i * 64 }
        // A count of 2^32-1 entries: the walk stops where the section ends.
        XCTAssertTrue(error(e.build { $0.put(0xffff_ffff, 4, at: sh($0, 2) + 44) }).contains(".gnu.version_r"))
        // The same through the dynamic segment (DT_VERNEEDNUM), section headers stripped.
        var s = MiniElf(sectionHeaders: false)
        let huge = s.build { e in
            let at = e.dynamicOffset + 16 * (e.needed.count + 3) + 8
            e.put(0xffff_ffff_ffff, 8, at: at)
        }
        XCTAssertTrue(error(huge).contains(".gnu.version_r"), error(huge))
        // vn_cnt of 65535 whose vna_next chain stays put: bounded by the section's size.
        let stuck = e.build {
            $0.put(0xffff, 2, at: $0.verneedOffset + 2)
            $0.put(0, 4, at: $0.verneedOffset + 16 + 12)
        }
        XCTAssertEqual(try read(stuck).get().needs, ["GLIBC_2.2.5", "FOO_1.0"])
        // vn_next of zero with entries left; vn_aux, vna_name and vn_next out of range.
        XCTAssertTrue(error(e.build { $0.put(0, 4, at: $0.verneedOffset + 12) }).contains("ends the list early"))
        XCTAssertTrue(error(e.build { $0.put(0xffff_fff0, 4, at: $0.verneedOffset + 8) }).contains("past the end"))
        XCTAssertTrue(
            error(e.build { $0.put(0x7fff_ffff, 4, at: $0.verneedOffset + 16 + 8) }).contains("string table"))
        XCTAssertTrue(error(e.build { $0.put(0xffff_ffff, 4, at: $0.verneedOffset + 12) }).contains("past the end"))
        // Sections: a size past the end of the file, a link to a section that does not exist.
        XCTAssertTrue(error(e.build { $0.put(UInt64.max - 8, 8, at: sh($0, 2) + 32) }).contains("past the end"))
        XCTAssertTrue(error(e.build { $0.put(99, 4, at: sh($0, 2) + 40) }).contains("links to section 99"))
        // A string table whose last string has no NUL.
        let endless = e.build {
            $0.put(3, 8, at: sh($0, 1) + 32)
            $0.put(0x7f7f_7f7f, 4, at: $0.dynstrOffset)
            $0.put(1, 4, at: $0.verneedOffset + 16 + 8)
        }
        XCTAssertTrue(error(endless).contains("has no end in its string table"), error(endless))
        // Header tables: 65535 section headers, a header size too small, a table offset past the end.
        XCTAssertTrue(error(e.build { $0.put(0xffff, 2, at: 60) }).contains("section header table"))
        XCTAssertTrue(error(e.build { $0.put(8, 2, at: 58) }).contains("section header size"))
        XCTAssertTrue(error(e.build { $0.put(UInt64.max, 8, at: 32) }).contains("program header table"))
        // Extended numbering (e_shnum 0: the count is section 0's sh_size), here 2^40.
        XCTAssertTrue(
            error(
                e.build {
                    $0.put(0, 2, at: 60); $0.put(1 << 40, 8, at: sh($0, 0) + 32)
                }
            )
            .contains("section header"))
        // DT_VERNEED at an address no segment holds.
        XCTAssertTrue(
            error(s.build { e in e.put(0x10, 8, at: e.dynamicOffset + 16 * (e.needed.count + 2) + 8) })
                .contains("in no loaded segment"))
        // Not ELF at all, an unknown class or byte order.
        XCTAssertEqual(error(Array("#!/bin/sh\necho hi\n".utf8)), "not an ELF file")
        XCTAssertTrue(error(e.build { $0.bytes[4] = 3 }).contains("class"))
        XCTAssertTrue(error(e.build { $0.bytes[5] = 0 }).contains("byte order"))
    }

    /// Random damage to every part of a file: each result is an error or names that are in the
    /// file's bytes (the reader invents nothing), and every run ends.
    func testRandomDamageIsAnErrorOrWhatTheFileSays() {
        var rng = SplitMix64.seeded(0x5eed_e1f, for: "ElfReader damage")
        for is64 in [true, false] {
            for sectionHeaders in [true, false] {
                var e = MiniElf(is64: is64, bigEndian: !is64, sectionHeaders: sectionHeaders)
                let good = e.build()
                var errors = 0
                for _ in 0..<3000 {
                    var bytes = good
                    for _ in 0..<(1 + Int(rng.next() % 4)) {
                        bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                    }
                    switch read(bytes) {
                    case .failure: errors += 1
                    case .success(let info):
                        // Names with bytes that are not UTF-8 cannot be searched for as they were read.
                        let file = Data(bytes)
                        for name in info.needed + info.needs + info.defines
                        where !name.isEmpty && !name.contains("\u{FFFD}") {
                            XCTAssertNotNil(file.range(of: Data(name.utf8)), "\(name) is not in the file")
                        }
                    }
                }
                XCTAssertGreaterThan(errors, 0)
            }
        }
    }

    /// `ElfScan.scan` reads files from disk: a good one, a damaged one (named, with why), a
    /// vanished one.
    func testScanNamesTheFilesItCannotRead() throws {
        let dir = try TempDir.make("elfreader")
        defer { TempDir.remove(dir) }
        var e = MiniElf()
        let good = e.build()
        try Data(good).write(to: URL(fileURLWithPath: dir + "/good"))
        try Data(good.prefix(200)).write(to: URL(fileURLWithPath: dir + "/cut"))
        let (info, damaged) = ElfScan.scan([dir + "/good", dir + "/cut", dir + "/gone"])
        XCTAssertEqual(info, [dir + "/good": e.info])
        XCTAssertEqual(damaged[dir + "/gone"]?.message, "cannot be opened")
        XCTAssertTrue(damaged[dir + "/cut"]?.message.contains("past the end of the file") ?? false, "\(damaged)")
        XCTAssertEqual(ElfScan.newest(["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_PRIVATE", "GCC_3.0"]), "GLIBC_2.34")
    }
}
