/// What a path inside a layer may look like. Checked by the builder when it scans a
/// directory and again by the stub before it creates anything: a signed manifest can
/// still come from a buggy builder (docs/security.md, "Safe names and links").
///
/// The rules depend on the target. Every target has the base rules, and the linux targets no
/// more. windows-x64 adds what a Windows file system would otherwise read differently from the
/// layer's table: `\` and `:` (a separator, a drive or a stream), the other characters Win32
/// refuses, the device names (`CON`, `com1.txt`), names ending in a dot or a space (Win32 drops
/// them), and symlinks (docs/format.md, "Name rules per target"). On the targets whose volumes
/// ignore case by default, Windows and macOS (`ignoresCase`), two paths equal ignoring case are
/// refused by `FileTable.StreamReader`, which sees the whole table.
public enum PathRules {
    /// Which rule a path breaks. Internal: outside this module it is `BundleError(.badPath)` with
    /// this description as its message (`check`, `checkSymlink`); tests match the case itself.
    enum Violation: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case tooLong
        case componentTooLong
        case absolute
        case nul
        case dotComponent  // "", ".", ".." components: "a//b", "./a", "a/..", trailing "/"
        case invalidUTF8
        case reserved  // the layer's own marker name at the top level
        case symlinkEscapes  // a link target that leaves the layer
        case targetNotUTF8  // a link target that is not valid UTF-8
        case windowsCharacter  // \ : * ? " < > | or a control character, for a Windows target
        case windowsDeviceName  // CON, PRN, AUX, NUL, COM0-9, LPT0-9 (and ¹²³), with any extension
        case windowsTrailingDotOrSpace  // "a.", "a "
        case windowsSymlink  // a Windows bundle holds no symlinks
        case caseCollision  // Windows and macOS: equal to an earlier path ignoring ASCII case

        var description: String {
            switch self {
            case .empty: return "empty path"
            case .tooLong: return "path longer than \(Limits.maxPathLength) bytes"
            case .componentTooLong: return "path component longer than \(Limits.maxComponentLength) bytes"
            case .absolute: return "absolute path"
            case .nul: return "NUL byte in path"
            case .dotComponent: return "empty, '.' or '..' path component"
            case .invalidUTF8: return "path is not valid UTF-8"
            case .reserved: return "path uses the reserved name '\(PathRules.markerName)'"
            case .symlinkEscapes: return "symlink points outside its layer"
            case .targetNotUTF8: return "symlink target is not valid UTF-8"
            case .windowsCharacter: return "a name holds one of \\ : * ? \" < > | or a control character (Windows)"
            case .windowsDeviceName: return "a name is a Windows device name (CON, PRN, AUX, NUL, COMn, LPTn)"
            case .windowsTrailingDotOrSpace: return "a name ends in a dot or a space (Windows drops it)"
            case .windowsSymlink: return "a bundle for Windows cannot hold symlinks"
            case .caseCollision: return "equals an earlier path ignoring case (Windows and macOS volumes do)"
            }
        }
    }

    /// Whether `target`'s usual volumes ignore case (NTFS, and APFS as macOS formats it), so that
    /// two paths equal ignoring case would be one file there: the extractor's exclusive create
    /// would then fail on the user's machine, so the builder refuses them instead.
    public static func ignoresCase(_ target: BuildTarget) -> Bool { rulesOS(target) != .linux }

    /// The OS whose rules this build applies to a bundle for `target`. The tools (bundle-append,
    /// dgmo-build) apply every target's rules. A launcher applies those of the OS it is built for
    /// (`-D DGMO_TARGET_OS_LINUX` or `-D DGMO_TARGET_OS_WINDOWS`, from scripts/build-stub.sh): it refuses every bundle for
    /// another target anyway (`requireRunningTarget`), and the rules are there to protect the
    /// file system it writes to, which is its own OS's. In the linux launcher the Windows and
    /// macOS rules are then dead code and are not linked (docs/format.md, "Name rules per target").
    @inline(__always) public static func rulesOS(_ target: BuildTarget) -> BuildTarget.OperatingSystem {
        #if DGMO_TARGET_OS_LINUX
            return .linux
        #elseif DGMO_TARGET_OS_WINDOWS
            return .windows
        #else
            return target.os
        #endif
    }

    /// Name of the completion marker the stub writes at the top of every extracted layer.
    public static let markerName = ".dgmo-layer"

    /// Checks a layer-relative path given as raw bytes, by the rules of `target` (the base rules,
    /// which every target shares, when none is given: what the builder's scan applies before it
    /// knows the target).
    public static func check(_ path: [UInt8], for target: BuildTarget = .default) throws(BundleError) {
        do { try rule(path, for: target) } catch { throw BundleError(.badPath, error.description) }
    }

    public static func check(_ path: String, for target: BuildTarget = .default) throws(BundleError) {
        try check(Array(path.utf8), for: target)
    }

    /// Checks that a symlink at `path` with target `target` resolves inside the layer, and that
    /// the bundle's target (`for`) allows symlinks at all.
    public static func checkSymlink(path: [UInt8], target: [UInt8], for bundleTarget: BuildTarget = .default)
        throws(BundleError)
    {
        do throws(Violation) {
            guard rulesOS(bundleTarget) != .windows else { throw .windowsSymlink }
            try symlinkRule(path: path, target: target)
        } catch { throw BundleError(.badPath, error.description) }
    }

    /// The first rule `path` breaks for `target`, thrown as a `Violation`.
    static func rule(_ path: [UInt8], for target: BuildTarget = .default) throws(Violation) {
        let windows = rulesOS(target) == .windows
        guard !path.isEmpty else { throw .empty }
        guard path.count <= Limits.maxPathLength else { throw .tooLong }
        guard path[0] != 0x2F else { throw .absolute }
        guard !path.contains(0) else { throw .nul }
        // `case .some`, not `!= nil`: unoptimised Embedded Swift compares a `String?` with nil by
        // String's `==`, which reaches the Unicode tables the launcher does not link (ByteText.swift).
        guard case .some = String(validating: path, as: UTF8.self) else { throw .invalidUTF8 }
        var start = 0
        var first = true
        for i in 0...path.count where i == path.count || path[i] == 0x2F {
            let component = path[start..<i]
            if component.isEmpty || component.elementsEqual([0x2E]) || component.elementsEqual([0x2E, 0x2E]) {
                throw .dotComponent
            }
            guard component.count <= Limits.maxComponentLength else { throw .componentTooLong }
            if first, component.elementsEqual(markerName.utf8) { throw .reserved }
            if windows { try windowsRule(component, first: first) }
            first = false
            start = i + 1
        }
    }

    /// The Windows rules for one component (never "", "." or "..": those are refused already).
    /// Written with byte masks and packed integers rather than tables of strings: it is in the
    /// launcher, where every byte counts.
    static func windowsRule(_ name: ArraySlice<UInt8>, first: Bool) throws(Violation) {
        // Win32 refuses `" * : < > ?` (bits of `low`), `\ |` (bits of `high`, from 0x40) and
        // 0x01-0x1F in a name; `\` and `:` would not even stay one name: a separator, a drive
        // ("C:x") or an alternate data stream ("a:b").
        let low: UInt64 = 1 << 0x22 | 1 << 0x2A | 1 << 0x3A | 1 << 0x3C | 1 << 0x3E | 1 << 0x3F
        let high: UInt64 = 1 << (0x5C - 0x40) | 1 << (0x7C - 0x40)
        // The marker's name in another case is the marker itself on a case-insensitive volume.
        var marker = first && name.count == markerBytes.count
        var i = 0
        for b in name {
            if b < 0x20 || (b < 0x40 ? low >> b : b < 0x80 ? high >> (b &- 0x40) : 0) & 1 != 0 {
                throw .windowsCharacter
            }
            if marker && asciiLowercase(b) != markerBytes[i] { marker = false }
            i += 1
        }
        if marker { throw .reserved }
        let last = name[name.index(before: name.endIndex)]
        if last == 0x2E || last == 0x20 { throw .windowsTrailingDotOrSpace }
        if isWindowsDeviceName(name) { throw .windowsDeviceName }
    }

    /// `markerName`'s bytes (lowercase), for the Windows rule that compares ignoring case.
    static let markerBytes: [UInt8] = [0x2E, 0x64, 0x67, 0x6D, 0x6F, 0x2D, 0x6C, 0x61, 0x79, 0x65, 0x72]

    /// Whether Win32 reads `name` as a device: its part before the first dot, without trailing
    /// spaces, is CON, PRN, AUX, NUL, COM0-COM9 or LPT0-LPT9 in any case, or COM/LPT followed by
    /// a superscript 1, 2 or 3 (U+00B9, U+00B2, U+00B3 in UTF-8: C2 B9, C2 B2, C2 B3), which
    /// Windows reserves as well. The stem's bytes, folded, are packed into one integer.
    static func isWindowsDeviceName(_ name: ArraySlice<UInt8>) -> Bool {
        var stem = name[..<(name.firstIndex(of: 0x2E) ?? name.endIndex)]
        while stem.last == 0x20 { stem = stem.dropLast() }
        guard stem.count >= 3, stem.count <= 5 else { return false }
        var key: UInt64 = 0
        for b in stem { key = key << 8 | UInt64(asciiLowercase(b)) }
        let head = key >> (8 * UInt64(stem.count - 3))
        let comOrLpt = head == 0x63_6F6D || head == 0x6C_7074  // "com", "lpt"
        switch stem.count {
        case 3: return key == 0x63_6F6E || key == 0x70_726E || key == 0x61_7578 || key == 0x6E_756C  // con prn aux nul
        case 4: return comOrLpt && key & 0xFF >= 0x30 && key & 0xFF <= 0x39
        default: return comOrLpt && (key & 0xFFFF == 0xC2B9 || key & 0xFFFF == 0xC2B2 || key & 0xFFFF == 0xC2B3)
        }
    }

    /// A-Z folded to a-z, nothing else (Windows and macOS fold more: docs/format.md, "Name rules
    /// per target", says what is done about the rest).
    @inline(__always) public static func asciiLowercase(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// The first rule a symlink at `path` with target `target` breaks:
    /// absolute targets are refused and `..` may not climb above the layer root.
    static func symlinkRule(path: [UInt8], target: [UInt8]) throws(Violation) {
        guard !target.isEmpty else { throw .empty }
        guard target.count <= Limits.maxPathLength else { throw .tooLong }
        guard target[0] != 0x2F else { throw .symlinkEscapes }
        guard !target.contains(0) else { throw .nul }
        // Targets are text like paths: the launcher creates the link from a String, and a byte
        // string that is not UTF-8 would not survive that unchanged (docs/format.md, "File table").
        guard case .some = String(validating: target, as: UTF8.self) else { throw .targetNotUTF8 }
        // `..` may only lead the target ("../../lib/x", not "lib/../../x"): after a downward
        // step through a component that may itself be a link, a lexical `..` no longer means
        // what it seems. With that rule every link resolves to an ancestor of its directory
        // and then downwards, and by induction over the other links it stays inside the layer.
        var depth = path.reduce(0) { $0 + ($1 == 0x2F ? 1 : 0) }  // depth of the link's directory
        var descending = false
        var start = 0
        for i in 0...target.count where i == target.count || target[i] == 0x2F {
            let component = target[start..<i]
            if component.elementsEqual([0x2E, 0x2E]) {
                if descending { throw .symlinkEscapes }
                depth -= 1
                if depth < 0 { throw .symlinkEscapes }
            } else if !component.isEmpty && !component.elementsEqual([0x2E]) {
                descending = true
            }
            start = i + 1
        }
    }
}
