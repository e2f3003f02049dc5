import Foundation
import BundleBuilder
import BundleFormat

/// The C library the Python layer carries, so the engine runs on any glibc (2.17 and later) and
/// not only on systems as new as the build machine (docs/platforms.md, "The Python layer brings
/// its own C library"). CPython and PyInstaller's bundled libraries are built on this machine and
/// need its glibc (GLIBC_2.35); instead of rebuilding them against an old one, the layer ships a
/// pinned glibc — its loader `ld-linux-x86-64.so.2`, `libc.so.6` and whichever of its libraries
/// the layer's files need — and the `dgmo-engine` entry runs the PyInstaller bootloader through
/// that loader with `--library-path`.
///
/// The glibc is Debian's `libc6` package at the exact version and SHA-256 of
/// `SOURCE/glibc.lock`, fetched once with `apt-get download` and unpacked under WORK/glibc.
///
/// linux-arm64 carries Debian's arm64 libc6 the same way (loader `ld-linux-aarch64.so.1`), pinned in
/// `SOURCE/glibc.linux-arm64.lock` and unpacked under WORK/linux-arm64/glibc.
struct BundledGlibc {
    /// What differs between the targets: Debian's architecture name, the multiarch directory and the loader.
    struct Arch {
        let deb: String
        let triplet: String
        let loader: String

        /// For a linux target (dgmo-build refuses the others before it gets here).
        static func of(_ target: BuildTarget) -> Arch {
            switch target.cpu {
            case .x64: return Arch(deb: "amd64", triplet: "x86_64-linux-gnu", loader: "ld-linux-x86-64.so.2")
            case .arm64: return Arch(deb: "arm64", triplet: "aarch64-linux-gnu", loader: "ld-linux-aarch64.so.1")
            }
        }
    }

    let version: String
    let libDir: String
    let arch: Arch
    /// The downloaded, checked package (the arm64 build root is made from it too: Arm64Python).
    let deb: String
    var loader: String { arch.loader }

    static func prepare(
        lock: String, work: String, arch: Arch = .of(.linuxX64), shell: Shell,
        say: (String) -> Void
    ) throws(BuildError) -> BundledGlibc {
        let pins = try LockCheck.pins(try readText(lock, what: "lock file"), file: lock)
        guard pins.count == 1, let pin = pins.first, pin.name == "libc6" else {
            throw BuildError("\(lock): must pin exactly one package, libc6==VERSION --hash=sha256:...")
        }
        guard pin.version.allSatisfy({ $0.isLetter || $0.isNumber || "+.~-".contains($0) }) else {
            throw BuildError(
                "\(lock): libc6 version '\(pin.version)' has characters a Debian version (without epoch) cannot have")
        }
        let dir = work + "/glibc"
        let deb = dir + "/libc6_\(pin.version)_\(arch.deb).deb"
        let root = dir + "/libc6_\(pin.version)"
        // The marker names the version and digest the tree was checked against: a lock that
        // changes the hash (same version) unpacks and checks again.
        let complete = root + "/.dgmo-complete"
        let stamp = "\(pin.version) \(pin.sha256.joined(separator: ","))\n"
        if (try? String(contentsOfFile: complete, encoding: .utf8)) != stamp {
            try Files.mkdir(dir)
            if !Files.exists(deb) || (try? sha256(deb, shell: shell)) != pin.sha256.first {
                // Debian serves one libc6 per suite: the pin stops being downloadable at the next
                // point release. Say so, with what is served now and the one command that moves
                // the lock to it, before apt-get fails with "Version ... was not found".
                if let served = AptIndex.downloadable("libc6:\(arch.deb)", shell: shell),
                    !served.contains(where: { $0.version == pin.version })
                {
                    throw BuildError(
                        AptIndex.unservedPinMessage(lock: lock, pinned: pin.version, served: served, deb: deb))
                }
                say("fetching libc6 \(pin.version) (the C library the Python layer carries)")
                try? FileManager.default.removeItem(atPath: deb)
                do { try shell.run("apt-get", ["download", "libc6:\(arch.deb)=\(pin.version)"], cwd: dir) } catch {
                    throw BuildError(
                        "cannot download libc6=\(pin.version) with apt-get (is that version still served? 'apt-get update', or put \((deb as NSString).lastPathComponent) into \(dir)): \(error.message)"
                    )
                }
            }
            let got = try sha256(deb, shell: shell)
            guard pin.sha256.contains(got) else {
                try? FileManager.default.removeItem(atPath: deb)
                throw BuildError("\(deb): SHA-256 \(got) is not the one pinned in \(lock); removed it")
            }
            // Unpacked beside, renamed when complete: an interrupted build never leaves a half tree that looks usable.
            let partial = root + ".partial"
            try Files.fresh(partial)
            try shell.run("dpkg-deb", ["-x", deb, partial])
            try? FileManager.default.removeItem(atPath: root)
            do { try FileManager.default.moveItem(atPath: partial, toPath: root) } catch {
                throw BuildError("cannot rename \(partial): \(error.localizedDescription)")
            }
            try Files.write(stamp, to: complete)
        }
        // Bookworm's package has its libraries in /lib/<triplet>, later ones in /usr/lib/<triplet>.
        for candidate in ["/lib/" + arch.triplet, "/usr/lib/" + arch.triplet]
        where Files.exists(root + candidate + "/" + arch.loader) {
            return BundledGlibc(version: pin.version, libDir: root + candidate, arch: arch, deb: deb)
        }
        throw BuildError("\(root) holds no \(arch.loader); is \(deb) the \(arch.deb) libc6 package?")
    }

    static func sha256(_ path: String, shell: Shell) throws(BuildError) -> String {
        let out = try shell.run("/usr/bin/sha256sum", ["--", path], capture: true)
        guard let line = SHA256SumLine(out.split(separator: "\n").first ?? "") else {
            throw BuildError("sha256sum \(path) printed an unexpected line: \(out)")
        }
        return line.digest
    }

    /// Copies into `dir` the loader and every library of this glibc that an ELF file under `tree`
    /// needs, directly or through another one. Fails when a file needs a library that is neither
    /// in `tree` nor in this glibc (it would come from the user's system), or a GLIBC_x.y symbol
    /// version this glibc does not define. Returns the copied file names.
    func install(tree: String, into dir: String, shell: Shell) throws(BuildError) -> [String] {
        let elves = ElfScan.files(under: tree)
        guard !elves.isEmpty else { throw BuildError("\(tree) holds no ELF file") }
        let bundled = Set(elves.map { ($0 as NSString).lastPathComponent })
        let treeInfo = try ElfScan.scanAll(elves.map { tree + "/" + $0 })
        // This glibc's own libraries (real files; the package's symlinks resolved).
        let available = try Files.list(libDir).filter { $0.contains(".so") }
        let libPaths = available.map { (libDir + "/" + $0 as NSString).resolvingSymlinksInPath }
        let libInfo = try ElfScan.scanAll(Array(Set(libPaths)).sorted())
        func info(_ name: String) -> ElfScan.Info? {
            libInfo[(libDir + "/" + name as NSString).resolvingSymlinksInPath]
        }

        var wanted: [String] = [loader]
        var queue = treeInfo.values.flatMap(\.needed) + (info(loader)?.needed ?? [])
        var needs = treeInfo.values.reduce(into: Set<String>()) { $0.formUnion($1.needs) }
        while let name = queue.popLast() {
            if wanted.contains(name) || bundled.contains(name) { continue }
            guard available.contains(name), let lib = info(name) else {
                throw BuildError(
                    "\(tree): a file needs \(name), which is neither bundled by PyInstaller nor part of glibc \(version)"
                )
            }
            wanted.append(name)
            queue += lib.needed
        }
        var defines = Set<String>()
        for name in wanted {
            let path = (libDir + "/" + name as NSString).resolvingSymlinksInPath
            if let lib = info(name) { defines.formUnion(lib.defines); needs.formUnion(lib.needs) }
            do {
                if Files.exists(dir + "/" + name) { try FileManager.default.removeItem(atPath: dir + "/" + name) }
                try FileManager.default.copyItem(atPath: path, toPath: dir + "/" + name)
            } catch { throw BuildError("cannot copy \(path) into \(dir): \(error.localizedDescription)") }
        }
        let missing = needs.filter { $0.hasPrefix("GLIBC_") && !defines.contains($0) }.sorted()
        guard missing.isEmpty else {
            throw BuildError(
                "\(tree) needs \(missing.joined(separator: ", ")), which glibc \(version) does not define; pin a newer libc6 in glibc.lock"
            )
        }
        return wanted.sorted()
    }
}
