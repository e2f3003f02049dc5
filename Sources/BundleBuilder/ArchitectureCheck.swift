import BundleFormat

/// A bundle is for one platform (`BuildTarget`): its stub and every ELF file in its layers must be
/// for that processor. A mismatch would build fine and fail only on the user's machine ("Exec
/// format error", or a runtime that cannot load its own libraries), so the builder refuses it
/// with one line naming the file, its architecture and the target (docs/platforms.md).
public enum ArchitectureCheck {
    /// The stub's own ELF header must say the target's architecture.
    public static func checkStub(_ stub: [UInt8], target: BuildTarget) throws(BuildError) {
        guard let elf = ElfIdentity(prefix: Array(stub.prefix(ElfIdentity.headerPrefixLength))) else {
            throw BuildError(
                "the stub is not an ELF executable; target \(target.name) needs its \(target.elf.name) launcher stub")
        }
        guard elf == target.elf else {
            throw BuildError(
                "the stub is an \(elf.name) ELF file, but target \(target.name) needs an \(target.elf.name) one: pass the \(target.name) stub (built by 'make \(StubLocation.makeTarget(target))') with --stub"
            )
        }
    }

    /// Every ELF file the layers hold (recorded by `LayerBuilder` as it read them) must be the
    /// target's; the first offending file (layer order, then path order) is named.
    public static func checkLayers(_ layers: [BuiltLayer], target: BuildTarget) throws(BuildError) {
        for layer in layers {
            let foreign = layer.elfFiles.filter { $0.key != target.elf }.sorted { $0.value < $1.value }
            if let (elf, path) = foreign.first {
                throw BuildError(
                    "layer '\(layer.name)': \(TerminalText.shown(path)) is an \(elf.name) ELF file, but the bundle's target is \(target.name) (\(target.elf.name))"
                )
            }
        }
    }
}
