import Foundation

/// Why a file that starts like ELF could not be read: its name in a warning, e.g. "version needs
/// entry 3 is past the end of .gnu.version_r".
public struct ElfFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A built-in reader of what the dynamic linker needs from an ELF file (ELF32 and ELF64, either
/// byte order): `DT_NEEDED`, the version needs (`.gnu.version_r`, Verneed/Vernaux) and the
/// version definitions (`.gnu.version_d`, Verdef/Verdaux). It replaces `readelf -d -V`: a
/// packager's machine may have no binutils, and readelf spends seconds listing every dynamic
/// symbol's version where this reads a few hundred bytes per file.
///
/// A layer is arbitrary input, so every offset, size and count read from the file is checked
/// against the file's size and the table it points into before it is used, arithmetic cannot
/// overflow, and every chain is walked at most as many steps as its table has room for: a
/// damaged or hostile file is an `ElfFormatError`, never a crash, a hang or a huge allocation.
/// The sections are found by type in the section headers, as readelf does; a file whose section
/// headers were stripped is read through its dynamic segment (`PT_DYNAMIC`: `DT_VERNEED`,
/// `DT_VERDEF`, `DT_STRTAB`, addresses mapped to file offsets through the `PT_LOAD` segments).
struct ElfReader {
    /// The file's bytes by offset: `pread` on a descriptor, or an array in tests.
    struct Bytes {
        let size: UInt64
        /// Exactly `count` bytes at `offset`, or nil (the caller has checked the range).
        let read: (UInt64, Int) -> [UInt8]?

        init(size: UInt64, read: @escaping (UInt64, Int) -> [UInt8]?) {
            self.size = size
            self.read = read
        }

        init(_ array: [UInt8]) {
            self.init(size: UInt64(array.count)) { offset, count in
                Array(array[Int(offset)..<Int(offset) + count])
            }
        }
    }

    /// Reads `path`; nil when it cannot be opened (a file that vanished or is unreadable).
    static func read(path: String) -> Result<ElfScan.Info, ElfFormatError>? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        let bytes = Bytes(size: UInt64(st.st_size)) { offset, count in
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = out.withUnsafeMutableBytes { b in
                    pread(fd, b.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                done += n
            }
            return out
        }
        return read(bytes)
    }

    static func read(_ bytes: Bytes) -> Result<ElfScan.Info, ElfFormatError> {
        do throws(ElfFormatError) {
            return .success(try ElfReader(bytes).info())
        } catch { return .failure(error) }
    }

    // Constants of the ELF specification and the GNU symbol-versioning extension.
    static let ptLoad: UInt64 = 1, ptDynamic: UInt64 = 2
    static let shtDynamic: UInt64 = 6, shtVerdef: UInt64 = 0x6fff_fffd, shtVerneed: UInt64 = 0x6fff_fffe
    static let dtNull: UInt64 = 0, dtNeeded: UInt64 = 1, dtStrtab: UInt64 = 5, dtStrsz: UInt64 = 10
    static let dtVerdef: UInt64 = 0x6fff_fffc, dtVerdefnum: UInt64 = 0x6fff_fffd
    static let dtVerneed: UInt64 = 0x6fff_fffe, dtVerneednum: UInt64 = 0x6fff_ffff

    /// Limits no real file comes near; they bound what a hostile one makes us read.
    static let maxDynamicEntries: UInt64 = 1 << 16
    static let maxVersionEntries: UInt64 = 1 << 16
    static let maxStringLength = 4096
    static let tableChunk = 64 << 10  // bytes of section or program headers read at once

    /// A region of the file: where it starts and how many bytes it has.
    struct Region {
        var offset: UInt64
        var size: UInt64
    }

    struct Section {
        var type: UInt64, offset: UInt64, size: UInt64, link: UInt64, info: UInt64
    }

    struct Segment {
        var type: UInt64, offset: UInt64, vaddr: UInt64, filesz: UInt64
    }

    let bytes: Bytes
    let is64: Bool
    let bigEndian: Bool

    init(_ bytes: Bytes) throws(ElfFormatError) {
        self.bytes = bytes
        guard bytes.size >= 16, let ident = bytes.read(0, 16), ident[0..<4] == [0x7f, 0x45, 0x4c, 0x46] else {
            throw ElfFormatError("not an ELF file")
        }
        guard ident[4] == 1 || ident[4] == 2 else { throw ElfFormatError("unknown ELF class \(ident[4])") }
        guard ident[5] == 1 || ident[5] == 2 else { throw ElfFormatError("unknown ELF byte order \(ident[5])") }
        is64 = ident[4] == 2
        bigEndian = ident[5] == 2
    }

    // MARK: Bytes

    func uint(_ b: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<width { v |= UInt64(b[at + (bigEndian ? width - 1 - i : i)]) << (8 * UInt64(i)) }
        return v
    }
    func u16(_ b: [UInt8], _ at: Int) -> UInt64 { uint(b, at, 2) }
    func u32(_ b: [UInt8], _ at: Int) -> UInt64 { uint(b, at, 4) }
    /// An address, offset or size: 4 bytes in ELF32, 8 in ELF64.
    func word(_ b: [UInt8], _ at: Int) -> UInt64 { uint(b, at, is64 ? 8 : 4) }

    /// `count` bytes at `offset` inside `region` (offsets relative to it), or `what` is damaged.
    func read(_ region: Region, _ offset: UInt64, _ count: Int, _ what: @autoclosure () -> String)
        throws(ElfFormatError) -> [UInt8]
    {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= region.size, let b = bytes.read(region.offset + offset, count) else {
            throw ElfFormatError("\(what()) is past the end of \(region.size == bytes.size ? "the file" : "its table")")
        }
        return b
    }

    /// `region` if it lies inside the file, else `what` is damaged.
    func inFile(_ offset: UInt64, _ size: UInt64, _ what: String) throws(ElfFormatError) -> Region {
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= bytes.size else {
            throw ElfFormatError("\(what) (offset \(offset), \(size) bytes) is past the end of the file")
        }
        return Region(offset: offset, size: size)
    }

    /// The NUL-terminated string at `offset` in the string table `table`.
    func string(_ table: Region, _ offset: UInt64, _ what: String) throws(ElfFormatError) -> String {
        guard offset < table.size else {
            throw ElfFormatError("\(what)'s name (offset \(offset)) is past the end of its string table")
        }
        var out: [UInt8] = []
        var at = offset
        while at < table.size && out.count < ElfReader.maxStringLength {
            let n = Int(min(64, table.size - at))
            let chunk = try read(table, at, n, "\(what)'s name")
            if let nul = chunk.firstIndex(of: 0) {
                out += chunk[..<nul]
                return String(decoding: out, as: UTF8.self)
            }
            out += chunk
            at += UInt64(n)
        }
        throw ElfFormatError("\(what)'s name (offset \(offset)) has no end in its string table")
    }

    // MARK: Headers

    func info() throws(ElfFormatError) -> ElfScan.Info {
        let file = Region(offset: 0, size: bytes.size)
        let header = try read(file, 0, is64 ? 64 : 52, "the ELF header")
        // Only executables and shared objects are linked at run time; relocatable objects and core
        // dumps need nothing (readelf finds no version sections in them either).
        let type = u16(header, 16)
        guard type == 2 || type == 3 else { return ElfScan.Info() }
        let phoff = word(header, is64 ? 32 : 28), shoff = word(header, is64 ? 40 : 32)
        let phentsize = u16(header, is64 ? 54 : 42), shentsize = u16(header, is64 ? 58 : 46)
        var phnum = u16(header, is64 ? 56 : 44), shnum = u16(header, is64 ? 60 : 48)
        // Extended numbering: counts too big for the header are in the first section header.
        if shoff != 0 && (shnum == 0 || phnum == 0xffff) {
            guard shentsize >= (is64 ? 64 : 40) else { throw ElfFormatError("section header size \(shentsize)") }
            let zero = section(try read(file, shoff, Int(shentsize), "the section header table"), 0)
            if shnum == 0 { shnum = zero.size }
            if phnum == 0xffff { phnum = zero.info }
        }
        let sections = shoff == 0 ? [] : try table(shoff, shnum, shentsize, is64 ? 64 : 40, "section", section)
        let segments = phoff == 0 ? [] : try table(phoff, phnum, phentsize, is64 ? 56 : 32, "program", segment)
        let loads = segments.filter { $0.type == ElfReader.ptLoad }

        var info = ElfScan.Info()
        // The dynamic table: its segment (what the loader reads), else its section.
        let dynamic: Region? =
            if let d = segments.first(where: { $0.type == ElfReader.ptDynamic }) {
                try inFile(d.offset, d.filesz, "the dynamic segment")
            } else if let d = sections.first(where: { $0.type == ElfReader.shtDynamic }) {
                try inFile(d.offset, d.size, "the dynamic section")
            } else { nil }
        var tags: [UInt64: UInt64] = [:]
        var needed: [UInt64] = []
        if let dynamic {
            let size = is64 ? 16 : 8
            let count = Int(min(dynamic.size / UInt64(size), ElfReader.maxDynamicEntries))
            let table = try read(dynamic, 0, count * size, "the dynamic table")
            for i in 0..<count {
                let tag = word(table, i * size), value = word(table, i * size + size / 2)
                if tag == ElfReader.dtNull { break }
                if tag == ElfReader.dtNeeded { needed.append(value) } else if tags[tag] == nil { tags[tag] = value }
            }
        }
        // The dynamic string table, by its address; else the section the dynamic section links to.
        func dynamicStrings() throws(ElfFormatError) -> Region {
            if let address = tags[ElfReader.dtStrtab], let size = tags[ElfReader.dtStrsz],
                let r = fileRegion(address, size, loads)
            {
                return r
            }
            if let d = sections.first(where: { $0.type == ElfReader.shtDynamic }) {
                return try linked(d, sections, "the dynamic section")
            }
            throw ElfFormatError("the dynamic string table (DT_STRTAB) is not in the file")
        }
        if !needed.isEmpty {
            let strings = try dynamicStrings()
            for (i, offset) in needed.enumerated() {
                info.needed.append(try string(strings, offset, "needed library \(i)"))
            }
        }

        if let s = sections.first(where: { $0.type == ElfReader.shtVerneed }) {
            let region = try inFile(s.offset, s.size, ".gnu.version_r")
            info.needs = try versionNeeds(region, count: s.info, strings: try linked(s, sections, ".gnu.version_r"))
        } else if sections.isEmpty, let address = tags[ElfReader.dtVerneed] {
            let region = try loaded(address, loads, "DT_VERNEED")
            info.needs = try versionNeeds(
                region, count: tags[ElfReader.dtVerneednum] ?? 0, strings: try dynamicStrings())
        }
        if let s = sections.first(where: { $0.type == ElfReader.shtVerdef }) {
            let region = try inFile(s.offset, s.size, ".gnu.version_d")
            info.defines = try versionDefinitions(
                region, count: s.info, strings: try linked(s, sections, ".gnu.version_d"))
        } else if sections.isEmpty, let address = tags[ElfReader.dtVerdef] {
            let region = try loaded(address, loads, "DT_VERDEF")
            info.defines = try versionDefinitions(
                region, count: tags[ElfReader.dtVerdefnum] ?? 0, strings: try dynamicStrings())
        }
        return info
    }

    /// `count` headers of `entsize` bytes at `offset`, each decoded by `decode`, read a chunk at a time.
    func table<T>(
        _ offset: UInt64, _ count: UInt64, _ entsize: UInt64, _ minimum: UInt64, _ what: String,
        _ decode: ([UInt8], Int) -> T
    ) throws(ElfFormatError) -> [T] {
        guard count > 0 else { return [] }
        guard entsize >= minimum else { throw ElfFormatError("\(what) header size \(entsize), expected \(minimum)") }
        let (size, overflow) = count.multipliedReportingOverflow(by: entsize)
        guard !overflow else { throw ElfFormatError("\(count) \(what) headers") }
        let region = try inFile(offset, size, "the \(what) header table")
        var out: [T] = []
        var i: UInt64 = 0
        while i < count {
            let n = min(max(1, UInt64(ElfReader.tableChunk) / entsize), count - i)
            let b = try read(region, i * entsize, Int(n * entsize), "the \(what) header table")
            for j in 0..<Int(n) { out.append(decode(b, j * Int(entsize))) }
            i += n
        }
        return out
    }

    func section(_ b: [UInt8], _ at: Int) -> Section {
        is64
            ? Section(
                type: u32(b, at + 4), offset: word(b, at + 24), size: word(b, at + 32), link: u32(b, at + 40),
                info: u32(b, at + 44))
            : Section(
                type: u32(b, at + 4), offset: word(b, at + 16), size: word(b, at + 20), link: u32(b, at + 24),
                info: u32(b, at + 28))
    }

    func segment(_ b: [UInt8], _ at: Int) -> Segment {
        is64
            ? Segment(type: u32(b, at), offset: word(b, at + 8), vaddr: word(b, at + 16), filesz: word(b, at + 32))
            : Segment(type: u32(b, at), offset: word(b, at + 4), vaddr: word(b, at + 8), filesz: word(b, at + 16))
    }

    /// The string table a section names in `sh_link`.
    func linked(_ s: Section, _ sections: [Section], _ what: String) throws(ElfFormatError) -> Region {
        guard s.link < UInt64(sections.count) else {
            throw ElfFormatError("\(what) links to section \(s.link), of \(sections.count)")
        }
        let t = sections[Int(s.link)]
        return try inFile(t.offset, t.size, "\(what)'s string table")
    }

    /// The file bytes of `size` bytes at `address`, when one `PT_LOAD` segment holds them all.
    func fileRegion(_ address: UInt64, _ size: UInt64, _ loads: [Segment]) -> Region? {
        guard let r = try? loaded(address, loads, ""), r.size >= size else { return nil }
        return Region(offset: r.offset, size: size)
    }

    /// The file bytes from `address` to the end of the `PT_LOAD` segment that holds it.
    func loaded(_ address: UInt64, _ loads: [Segment], _ what: String) throws(ElfFormatError) -> Region {
        for l in loads where address >= l.vaddr && address - l.vaddr < l.filesz {
            let r = try inFile(l.offset, l.filesz, "a PT_LOAD segment")
            return Region(offset: r.offset + (address - l.vaddr), size: r.size - (address - l.vaddr))
        }
        throw ElfFormatError("\(what) (address \(address)) is in no loaded segment")
    }

    // MARK: Version tables

    /// The version names of `count` Verneed entries (16 bytes: vn_version, vn_cnt, vn_file,
    /// vn_aux, vn_next) and their Vernaux entries (16 bytes: vna_hash, vna_flags, vna_other,
    /// vna_name, vna_next) in `region`, e.g. GLIBC_2.34 needed from libc.so.6.
    func versionNeeds(_ region: Region, count: UInt64, strings: Region) throws(ElfFormatError) -> Set<String> {
        // Every entry takes 16 bytes of the table: no more steps than fit (nor than any real file has),
        // wherever the links point.
        var steps = min(region.size / 16, ElfReader.maxVersionEntries)
        var names = Set<String>()
        var at: UInt64 = 0
        for i in 0..<count {
            guard steps > 0 else { throw ElfFormatError(".gnu.version_r: more entries than fit in it") }
            steps -= 1
            let e = try read(region, at, 16, ".gnu.version_r entry \(i)")
            let cnt = u16(e, 2), aux = u32(e, 8), next = u32(e, 12)
            var a = at + aux
            for j in 0..<cnt {
                guard steps > 0 else { throw ElfFormatError(".gnu.version_r: more entries than fit in it") }
                steps -= 1
                let x = try read(region, a, 16, ".gnu.version_r entry \(i) version \(j)")
                names.insert(try string(strings, u32(x, 8), ".gnu.version_r entry \(i) version \(j)"))
                if u32(x, 12) == 0 { break }
                a += u32(x, 12)
            }
            if next == 0 {
                guard i == count - 1 else { throw ElfFormatError(".gnu.version_r entry \(i) ends the list early") }
                break
            }
            at += next
        }
        return names
    }

    /// The names of `count` Verdef entries (20 bytes: vd_version, vd_flags, vd_ndx, vd_cnt,
    /// vd_hash, vd_aux, vd_next) in `region`: each one's first Verdaux (8 bytes: vda_name,
    /// vda_next), as readelf lists them (the file's own soname first, then e.g. GLIBC_2.2.5).
    func versionDefinitions(_ region: Region, count: UInt64, strings: Region) throws(ElfFormatError) -> Set<String> {
        var steps = min(region.size / 20, ElfReader.maxVersionEntries)
        var names = Set<String>()
        var at: UInt64 = 0
        for i in 0..<count {
            guard steps > 0 else { throw ElfFormatError(".gnu.version_d: more entries than fit in it") }
            steps -= 1
            let e = try read(region, at, 20, ".gnu.version_d entry \(i)")
            if u16(e, 6) > 0 {
                let x = try read(region, at + u32(e, 12), 8, ".gnu.version_d entry \(i)'s name")
                names.insert(try string(strings, u32(x, 0), ".gnu.version_d entry \(i)"))
            }
            let next = u32(e, 16)
            if next == 0 {
                guard i == count - 1 else { throw ElfFormatError(".gnu.version_d entry \(i) ends the list early") }
                break
            }
            at += next
        }
        return names
    }
}
