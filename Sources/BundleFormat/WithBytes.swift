/// `Array.withUnsafeBytes` keeps a typed error. The standard library's version rethrows
/// `any Error`, which would erase the typed errors every layer of this package uses.
@inlinable
public func withBytes<R, E: Error>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let result: Result<R, E> = array.withUnsafeBytes { b in Result { () throws(E) in try body(b) } }
    return try result.get()
}

/// `Array.withUnsafeMutableBytes` keeping a typed error.
@inlinable
public func withMutableBytes<R, E: Error>(
    _ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let result: Result<R, E> = array.withUnsafeMutableBytes { b in Result { () throws(E) in try body(b) } }
    return try result.get()
}
