import BundleFormat
import BundleSystem
import BundleRuntime

/// `<app> --launcher sbom`: prints the bundle's software bill of materials.
///
/// By convention a bundle may carry a CycloneDX SBOM at `metadata/sbom.cdx.json` in any layer
/// (docs/format.md). It is decoded in memory and checked against its signed digest; nothing is
/// extracted into the cache, so this works on a read-only or foreign machine.
enum Sbom {
    static let path = "metadata/sbom.cdx.json"

    static func run(_ args: [String], bundle: BundleFile) -> Int32 {
        guard args.isEmpty else { fail("usage: \(programName) --launcher sbom") }
        for layer in bundle.manifest.layers {
            let bytes: [UInt8]?
            do { bytes = try LayerExtractor.readFile(bundle, layer: layer, path: path) } catch {
                fail("layer '\(layer.name)': \(error.message)")
            }
            if let bytes {
                writeOut(.output, String(decoding: bytes, as: UTF8.self))
                return 0
            }
        }
        fail("this bundle carries no SBOM (\(path) in none of its layers)")
    }
}
