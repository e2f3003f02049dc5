import BundleFormat
import XCTest

/// Asserts that `body` throws a `BundleError` with `code`. Tests match the code, not the English;
/// `needles` are only for what the message must name (the offending value, field or escaped name).
public func assertBundleError<T>(
    _ body: @autoclosure () throws -> T, _ code: BundleError.Code, mentions needles: String...,
    context: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    assertBundleError(try body(), code, mentioning: needles, context: context(), file: file, line: line)
}

/// `assertBundleError` with the needles as an array.
public func assertBundleError<T>(
    _ body: @autoclosure () throws -> T, _ code: BundleError.Code, mentioning needles: [String],
    context: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try body()
        XCTFail("expected BundleError .\(code), got \(value) \(context())", file: file, line: line)
    } catch let error as BundleError {
        XCTAssertEqual(error.code, code, "'\(error.message)' \(context())", file: file, line: line)
        for needle in needles where !error.message.contains(needle) {
            XCTFail("'\(error.message)' should mention '\(needle)' \(context())", file: file, line: line)
        }
    } catch {
        XCTFail("expected a BundleError, got \(type(of: error)): \(error) \(context())", file: file, line: line)
    }
}

/// Asserts that `body` throws a `BundleError` (any code): for inputs cut anywhere, where which
/// rule fires first depends on the cut.
public func assertThrowsBundleError<T>(
    _ body: @autoclosure () throws -> T, _ context: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try body()
        XCTFail("expected a BundleError, got \(value) \(context())", file: file, line: line)
    } catch is BundleError {
    } catch {
        XCTFail("expected a BundleError, got \(type(of: error)): \(error) \(context())", file: file, line: line)
    }
}
