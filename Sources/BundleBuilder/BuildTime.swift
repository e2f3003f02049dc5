import Foundation

/// The time stamped into bundles, SBOMs and signatures' trusted comments.
///
/// `SOURCE_DATE_EPOCH` when set (reproducible-builds.org); otherwise the time of the last commit
/// of the git repository holding the inputs, so two plain builds of the same commit give the same
/// bytes; the wall clock only when the inputs are not in a git repository (or git is missing).
public enum BuildTime {
    public enum Source: String, Sendable {
        case environment = "SOURCE_DATE_EPOCH", lastCommit = "last commit", clock = "clock"
    }

    /// `directory`: where the inputs are (the spec's directory, an app's source tree).
    public static func resolve(inputsIn directory: String) throws(BuildError) -> (time: UInt64, source: Source) {
        if let s = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], !s.isEmpty {
            guard let v = UInt64(s) else {
                throw BuildError("SOURCE_DATE_EPOCH='\(s)' is not a number of seconds since 1970")
            }
            return (v, .environment)
        }
        if let t = lastCommitTime(directory) { return (t, .lastCommit) }
        return (UInt64(Date().timeIntervalSince1970), .clock)
    }

    /// `git log -1 --format=%ct` in `directory`; nil outside a repository or without git.
    static func lastCommitTime(_ directory: String) -> UInt64? {
        CommandOutput.run("git", ["-C", directory.isEmpty ? "." : directory, "log", "-1", "--format=%ct"])
            .flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
