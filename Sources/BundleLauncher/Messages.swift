import BundleFormat
import BundleSystem
import BundleRuntime

// How the launcher speaks: its name in messages, output lines, and the one-line failure with
// its own exit status.

/// The launcher's own failures all exit with this status (docs/format.md, "Launcher exit status"),
/// so callers can tell "the launcher could not start the program" from the program's own codes.
let launcherFailureStatus: Int32 = 125

/// The program's name as the user typed it (argv[0]'s basename), for messages.
nonisolated(unsafe) public var programName = "launcher"

/// Prints `<program>: <message>` as one line on stderr and exits with `launcherFailureStatus`.
/// Control bytes (LF, CR, ESC, NUL...) from the manifest, a file name or argv[0] are escaped,
/// so the message stays one line and cannot drive the terminal.
public func fail(_ message: String) -> Never {
    writeOut(.error, TerminalText.escaped("\(programName): \(message)") + "\n")
    Sys.exit(launcherFailureStatus)
}

/// Prints `<program>: <message>` as one line on stderr and goes on: for what the launcher works
/// around (a cache variable it cannot use), which the user should still hear about.
public func warn(_ message: String) {
    writeOut(.error, TerminalText.escaped("\(programName): \(message)") + "\n")
}

func writeOut(_ stream: StandardStream, _ s: String) {
    var s = s
    s.withUTF8 { b in try? Sys.write(stream, UnsafeRawBufferPointer(b)) }
}
