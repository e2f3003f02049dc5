import BundleFormat

/// A bundle is for one platform (`BuildTarget`): its stub and every program in its layers must be
/// for that system's executable format and processor. A mismatch would build fine and fail only on
/// the user's machine ("Exec format error", "not a valid Win32 application", or a runtime that
/// cannot load its own libraries), so the builder refuses it with one line naming the file, what
/// it is and what the target needs (docs/platforms.md). Files are identified by
/// `ExecutableIdentity`: ELF `e_machine`, PE COFF `Machine`, Mach-O `cputype`.
public enum ArchitectureCheck {
    /// The stub must be a program of the target's format for the target's processor.
    public static func checkStub(_ stub: [UInt8], target: BuildTarget) throws(BuildError) {
        let wanted = target.programDescription
        let how =
            StubLocation.makeTarget(target).map { "pass the \(target.name) stub (built by 'make \($0)') with --stub" }
            ?? "pass a \(target.name) stub with --stub"
        guard let identity = ExecutableIdentity(prefix: Array(stub.prefix(ExecutableIdentity.prefixLength))) else {
            throw BuildError(
                "the stub is not \(formatArticle(target.executableFormat)) executable; target \(target.name) needs its \(wanted) launcher stub"
            )
        }
        guard identity.runs(on: target) else {
            throw BuildError(
                "the stub is \(identity.description), but target \(target.name) needs an \(wanted) one: \(how)")
        }
    }

    /// Every program the layers hold (recorded by `LayerBuilder` as it read them) must be the
    /// target's; programs of a format the target does not refuse (`refusedForeignFormats`) are
    /// left alone. The first offending file (layer order, then path order) is named.
    public static func checkLayers(_ layers: [BuiltLayer], target: BuildTarget) throws(BuildError) {
        for layer in layers {
            let foreign = layer.executables.filter { identity, _ in
                identity.format == target.executableFormat
                    ? !identity.runs(on: target) : target.refusedForeignFormats.contains(identity.format)
            }.sorted { $0.value < $1.value }
            if let (identity, path) = foreign.first {
                throw BuildError(
                    "layer '\(layer.name)': \(TerminalText.shown(path)) is \(identity.description), but the bundle's target is \(target.name) (\(target.programDescription))"
                )
            }
        }
    }

    static func formatArticle(_ format: BuildTarget.ExecutableFormat) -> String {
        switch format {
        case .elf: return "an ELF"
        case .pe: return "a PE"
        case .machO: return "a Mach-O"
        }
    }
}
