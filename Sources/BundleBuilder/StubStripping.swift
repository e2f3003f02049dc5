import Foundation
import BundleFormat

/// Drops a launcher stub's symbol tables before it is copied into a bundle: nothing reads them at
/// run time, and every bundle would carry them. A release stub from scripts/build-stub.sh is
/// stripped already (stripping it again changes no byte, so it is left alone and no tool is
/// needed); a debug stub (`--debug`) is not: 3.7 MB, 1.8 MB stripped (linux-x64, measured).
public enum StubStripping {
    /// The strip program for `target`'s ELF files, as scripts/build-stub.sh uses it. Only ELF
    /// stubs are stripped (`hasSymbolTable` reads ELF64 only), so only the CPU matters.
    public static func tool(for target: BuildTarget) -> String {
        target.cpu == .x64 ? "strip" : "aarch64-linux-gnu-strip"
    }

    /// The stub without symbol tables. A stub that has none is returned as it is; one that has
    /// some is stripped with `strip --strip-all` (the same bytes each time, so builds stay
    /// reproducible). A strip program that is missing or fails is an error naming it.
    public static func stripped(_ stub: [UInt8], target: BuildTarget) throws(BuildError) -> [UInt8] {
        guard hasSymbolTable(stub) else { return stub }
        let tool = tool(for: target)
        let dir = NSTemporaryDirectory() + "/bundle-strip-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard mkdir(dir, 0o700) == 0 else {
            throw BuildError("cannot strip the stub: cannot create \(dir): \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/stub", output = dir + "/stub.stripped"
        try BundleBuild.writeAtomically(stub, to: input, mode: 0o755)
        guard CommandOutput.run(tool, ["--strip-all", "-o", output, input]) != nil else {
            throw BuildError(
                "the stub has symbol tables and '\(tool) --strip-all' failed or is not installed: install binutils for \(target.name), or pass a stripped stub (scripts/build-stub.sh without --debug)"
            )
        }
        do { return try FileBytes.read(output) } catch {
            throw BuildError("cannot read the stripped stub \(output): \(error.message)")
        }
    }

    /// Whether an ELF64 file has a section of type `SHT_SYMTAB` (what `strip --strip-all` drops
    /// first; a stub with none has been stripped). Bytes that are not a well-formed ELF64 section
    /// table count as "none": the architecture check has already refused a foreign file.
    public static func hasSymbolTable(_ elf: [UInt8]) -> Bool {
        guard elf.count >= 64, elf[4] == 2 else { return false }  // ELFCLASS64 header: 64 bytes
        let bigEndian = elf[5] == 2
        func read(_ at: Int, _ width: Int) -> Int? {
            guard at >= 0, at + width <= elf.count else { return nil }
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(elf[at + (bigEndian ? width - 1 - i : i)]) << (8 * UInt64(i)) }
            return v > UInt64(Int.max) ? nil : Int(v)
        }
        guard let tableOffset = read(0x28, 8), let entrySize = read(0x3A, 2), let count = read(0x3C, 2), entrySize >= 8,
            tableOffset <= elf.count, count * entrySize <= elf.count - tableOffset
        else { return false }
        let symtab = 2
        return (0..<count).contains { i in read(tableOffset + i * entrySize + 4, 4) == symtab }
    }
}
