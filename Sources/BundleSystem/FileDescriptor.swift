import CPlatform

/// An open file or directory, closed exactly once: when its owner ends, or by `close()`.
///
/// `~Copyable`, as swift-system's and swift-subprocess's descriptors (../shared/EXAMPLES.md): a
/// value has one owner, calls borrow it (`borrowing FileDescriptor`), and handing one over is an
/// explicit `consume`. So a descriptor cannot leak on an early `throw` or be closed twice, and who
/// closes it is written in the types, not in comments. The number itself never leaves this module
/// (the syscall layer): nothing above it can pass a stale or foreign number to a call.
///
/// Debug builds keep a ledger of the numbers open (`DescriptorLedger`) and trap when one is closed
/// twice or taken again while still open (something closed it behind the ledger's back); the
/// tests check that a whole operation leaves the ledger as it found it (no leak).
@frozen
public struct FileDescriptor: ~Copyable {
    @usableFromInline let raw: Int32

    /// Takes ownership of `raw`, a descriptor a wrapper just opened.
    @inline(__always)
    init(adopting raw: Int32) {
        DescriptorLedger.opened(raw)
        self.raw = raw
    }

    /// A view of a descriptor someone else owns (`DescriptorTable.borrow`): never closed by this
    /// value, which must end in `forget()`.
    @inline(__always)
    init(viewing raw: Int32) { self.raw = raw }

    deinit {
        DescriptorLedger.closed(raw)
        _ = cplat_close(raw)
    }

    /// Closes it now. Never retried and never reported: on Linux the descriptor is gone even when
    /// close says EINTR, and a retry could close a descriptor another thread just opened.
    public consuming func close() {}

    /// Ends a view without closing.
    @inline(__always)
    consuming func forget() { discard self }

}

/// Descriptors held by position, for walks that keep a chain of open directories (the extractor's
/// `DirectoryStack`, the cache's `PathWalk`): a list of `FileDescriptor`s, which Swift's arrays
/// cannot hold. A slot is open or closed; the table closes what is open when it ends.
public struct DescriptorTable: ~Copyable {
    private var raw: [Int32] = []

    public init() {}

    deinit { for fd in raw where fd >= 0 { FileDescriptor(adoptingSilently: fd).close() } }

    public var count: Int { raw.count }
    public var isEmpty: Bool { raw.isEmpty }

    public func isOpen(_ i: Int) -> Bool { raw[i] >= 0 }

    /// Adds an open slot at the end.
    public mutating func append(_ fd: consuming FileDescriptor) { raw.append(fd.handedToTable()) }

    /// Puts `fd` in slot `i`, closing what was there.
    public mutating func set(_ i: Int, _ fd: consuming FileDescriptor) {
        close(i)
        raw[i] = fd.handedToTable()
    }

    /// Closes slot `i` (nothing when already closed); the slot stays.
    public mutating func close(_ i: Int) {
        if raw[i] >= 0 { FileDescriptor(adoptingSilently: raw[i]).close() }
        raw[i] = -1
    }

    /// Takes the last slot out: its descriptor (nil when the slot was closed).
    public mutating func removeLast() -> FileDescriptor? {
        let fd = raw.removeLast()
        return fd >= 0 ? FileDescriptor(adoptingSilently: fd) : nil
    }

    /// Closes every slot and empties the table.
    public mutating func removeAll() {
        while !raw.isEmpty { removeLast()?.close() }
    }

    /// Lends slot `i`, which must be open, to `body`.
    public func borrow<R: ~Copyable, E: Error>(_ i: Int, _ body: (borrowing FileDescriptor) throws(E) -> R) throws(E)
        -> R
    {
        precondition(raw[i] >= 0, "DescriptorTable: slot is closed")
        let view = FileDescriptor(viewing: raw[i])
        do {
            let r = try body(view)
            view.forget()
            return r
        } catch {
            view.forget()
            throw error
        }
    }
}

extension FileDescriptor {
    /// A descriptor the table owned, back as a value (the ledger already counts it).
    @inline(__always)
    init(adoptingSilently raw: Int32) { self.raw = raw }

    /// fdopendir took the descriptor over: closedir closes it.
    @inline(__always)
    consuming func handedToDirectoryStream() {
        DescriptorLedger.closed(raw)
        discard self
    }

    /// Moves ownership into a table (the ledger keeps counting it as open).
    @inline(__always)
    consuming func handedToTable() -> Int32 {
        let r = raw
        discard self
        return r
    }
}

/// The debug build's record of which descriptor numbers are open through `FileDescriptor`: a
/// number opened while recorded open, or closed while not recorded, is a bug in the ownership of
/// descriptors, and traps at once with the number. Release builds keep no record.
public enum DescriptorLedger {
    #if DEBUG
        nonisolated(unsafe) static var open: [Bool] = []
        nonisolated(unsafe) static var openCount = 0
        nonisolated(unsafe) static let monitor = Sys.Monitor()

        static func opened(_ fd: Int32) {
            monitor?.lock()
            defer { monitor?.unlock() }
            let i = Int(fd)
            if i >= open.count { open += [Bool](repeating: false, count: i + 1 - open.count) }
            if open[i] {
                fatalError("descriptor \(fd) was opened while still open in the ledger: something closed it twice")
            }
            open[i] = true
            openCount += 1
        }

        static func closed(_ fd: Int32) {
            monitor?.lock()
            defer { monitor?.unlock() }
            let i = Int(fd)
            if i >= open.count || !open[i] { fatalError("descriptor \(fd) closed twice (or never opened)") }
            open[i] = false
            openCount -= 1
        }

        /// After `Sys.detach`, in the grandchild: every descriptor but `fd` was closed behind the
        /// ledger's back.
        static func keepOnly(_ fd: Int32) {
            monitor?.lock()
            defer { monitor?.unlock() }
            let i = Int(fd)
            let kept = i < open.count && open[i]
            open = [Bool](repeating: false, count: open.count)
            if kept { open[i] = true }
            openCount = kept ? 1 : 0
        }

        /// How many descriptors `FileDescriptor` values (and tables) hold now: a test compares it
        /// before and after an operation, so a leak fails the test.
        public static var count: Int {
            monitor?.lock()
            defer { monitor?.unlock() }
            return openCount
        }
    #else
        @inline(__always) static func opened(_ fd: Int32) {}
        @inline(__always) static func closed(_ fd: Int32) {}
        @inline(__always) static func keepOnly(_ fd: Int32) {}
    #endif
}
