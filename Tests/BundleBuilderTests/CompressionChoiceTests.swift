import Foundation
import XCTest
@testable import BundleBuilder
import BundleFormat
import TestSupport

final class CompressionChoiceTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TempDir.make("choice", subdirectories: ["a", "x"]) }

    override func tearDownWithError() throws { TempDir.remove(dir) }

    /// `{{x}}` is the literal text `{x}`, not the layer x: the cold-start cost of an entry counts
    /// only the layers it really uses (its placeholders and its `layers` list).
    func testAnEntryUsesOnlyItsRealPlaceholdersAndListedLayers() throws {
        let spec = try BundleSpec.parse(
            toml: """
                [bundle]
                name = "app"
                version = "1.0.0"
                [layers.a]
                path = "a"
                [layers.x]
                path = "x"
                [entries.run]
                exec = ["{a}/run", "{{x}}"]
                env = { LITERAL = "{{x}}" }
                default = true
                [entries.both]
                exec = ["/bin/sh"]
                layers = ["a", "x"]
                """, baseDirectory: dir, fileName: "s.toml")
        let run = try XCTUnwrap(spec.entries.first { $0.name == "run" })
        let both = try XCTUnwrap(spec.entries.first { $0.name == "both" })
        XCTAssertEqual(CompressionChoice.layerIndices(run, spec).map { spec.layers[$0].name }, ["a"])
        XCTAssertEqual(CompressionChoice.layerIndices(both, spec).map { spec.layers[$0].name }, ["a", "x"])
    }

    /// What `save` writes, `load` reads back as the same codec, level and frame size per layer (the
    /// spec's frame size, also for a layer smaller than one frame, whose only frame is shorter); a
    /// layer the record does not name means "measure again" (nil).
    func testTheRecordedChoiceReadsBack() throws {
        try Data(repeating: 0x61, count: 300_000).write(to: URL(fileURLWithPath: dir + "/x/big"))
        try Data("small".utf8).write(to: URL(fileURLWithPath: dir + "/a/small"))
        let layers = [
            LayerSpec(name: "a", directory: dir + "/a", codec: .zstd, level: 3),
            LayerSpec(name: "x", directory: dir + "/x", codec: .zstd, level: 3, frameSize: 128 << 10),
        ]
        let built = try BundleBuild.buildLayers(
            layers.map {
                var l = $0; l.codec = .xz; l.level = 9; return l
            })
        XCTAssertEqual(built.map(\.frames.count), [1, 3])
        let path = dir + "/choice.toml"
        try CompressionChoice.save(path, built, header: "# test\n")
        XCTAssertEqual(
            try String(contentsOfFile: path, encoding: .utf8),
            "# test\na = \"xz:9:\(LayerSpec.defaultFrameSize)\"\nx = \"xz:9:131072\"\n")
        let loaded = try XCTUnwrap(try CompressionChoice.load(path, layers: layers))
        XCTAssertEqual(loaded.map(\.codec), [.xz, .xz])
        XCTAssertEqual(loaded.map(\.level), [9, 9])
        XCTAssertEqual(loaded.map(\.frameSize), [LayerSpec.defaultFrameSize, 128 << 10])
        let more = layers + [LayerSpec(name: "new", directory: dir + "/a", codec: .zstd, level: 3)]
        XCTAssertNil(try CompressionChoice.load(path, layers: more))
    }
}
