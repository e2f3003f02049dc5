#if canImport(Glibc)
import Glibc
#endif
import BundleFormat
import BundleCrypto
import BundleRuntime

// The launcher: find our own file, verify the appended bundle against the pinned key,
// make sure the chosen entry's layers are in the cache, and execve the entry.
// No Foundation: start-up time and size matter on every launch. See docs/format.md.

let arguments = CommandLine.arguments
let argv0 = arguments.first ?? "launcher"
programName = String(argv0.split(separator: "/").last.map(String.init) ?? argv0)

let exePath = selfPath(argv0: argv0)
let trust = Launcher.trustFromKeySlot()
let bundle: BundleFile
do { bundle = try BundleFile(path: exePath, trust: trust) } catch { fail("\(exePath): \(error.message)") }
let cache = CacheRoot.resolve(appName: bundle.manifest.appName)

if arguments.count > 1, arguments[1] == "--launcher" {
    exit(Ops.run(Array(arguments.dropFirst(2)), bundle: bundle, cache: cache, trust: trust))
}

cache.checkTrusted()
let entry = Launcher.selectEntry(bundle.manifest)
let layerPaths = Launcher.ensureLayers(for: entry, bundle: bundle, cache: cache, exePath: exePath)
Launcher.exec(entry, layerPaths: layerPaths, bundle: bundle, cache: cache, exePath: exePath, userArguments: Array(arguments.dropFirst()))
