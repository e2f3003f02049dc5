import { copyFileSync, chmodSync, renameSync, unlinkSync, existsSync, openSync, fsyncSync, closeSync, readdirSync } from "node:fs";
import { dirname, basename, join, resolve } from "node:path";
import { parseArgs } from "../args";
import { bundleExe, launcherCommand } from "../launcher";
import { compareVersions } from "../semver";
import { UsageError, type Command } from "../types";

interface Verified { name: string; version: string; key_id: string }

const windows = process.platform === "win32";

/**
 * Windows cannot replace or delete a file that runs (the target usually is: this binary), but it can
 * rename it: the target is moved aside, under a name of this process, and the new binary renamed
 * into its place; should that fail, the old one goes back. The target's name is missing between
 * the two renames, a moment in which a new start of it fails; no reader sees half a binary.
 */
function replaceRunning(staged: string, target: string): void {
  // The pid and a random part: Windows reuses pids soon, and an earlier aside may still run.
  const aside = join(dirname(target), `.${basename(target)}.old-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
  renameRetrying(target, aside);
  try {
    renameRetrying(staged, target);
  } catch (e) {
    try { renameRetrying(aside, target); }
    catch {
      throw new RollbackFailed(
        `dgmo update: cannot replace ${target}: ${(e as Error).message}; the previous binary is ${aside}, the new one ${staged}`);
    }
    throw e;
  }
  // Fails while it runs (this process's launcher, any other dgmo started before): a later
  // update removes it.
  try { unlinkSync(aside); } catch {}
}

/** The target could be neither replaced nor restored: both binaries are kept for the user. */
class RollbackFailed extends UsageError {
  constructor(message: string) { super(message, 1); }
}

/**
 * A rename on Windows, tried again for up to about half a second: a virus scanner often holds a
 * freshly written executable open for a moment, and the rename fails meanwhile (EBUSY/EPERM).
 */
function renameRetrying(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try { renameSync(from, to); return; }
    catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (attempt >= 5 || (code !== "EBUSY" && code !== "EPERM" && code !== "EACCES")) throw e;
      Bun.sleepSync(100);
    }
  }
}

const WINDOWS_NOTE = `
On Windows, where a running binary cannot be replaced, the old one is renamed aside
(.NAME.old-PID-RANDOM, beside it) and removed by a later update.`;

/**
 * Removes what earlier Windows updates set aside beside TARGET (`.NAME.old-PID-RANDOM`). One that still
 * runs cannot be deleted and stays for the next time. Only `update` does this, not every start:
 * a leftover costs disk space, not correctness, and a start should not list the directory the
 * binary was installed in (a shared tools folder, a network share).
 */
function removeSetAside(target: string): void {
  // Windows names are case-insensitive: the binary may have been started as DGMO.EXE.
  const prefix = `.${basename(target)}.old-`.toLowerCase();
  let names: string[];
  try { names = readdirSync(dirname(target)); } catch { return; }
  for (const name of names) {
    const lower = name.toLowerCase();
    if (lower.startsWith(prefix) && /^[0-9]+(-[0-9a-f]+)?$/.test(lower.slice(prefix.length))) {
      try { unlinkSync(join(dirname(target), name)); } catch {}
    }
  }
}

/**
 * Asks this binary's launcher to verify FILE: the whole file against its minisign signature
 * and the bundle's own signature, both by the key pinned in this launcher's key slot.
 */
async function verify(file: string, signature: string): Promise<Verified> {
  const r = await launcherCommand(["verify-file", file, "--signature", signature]);
  if (r.status !== 0) {
    // The launcher says "<program>: <file>: <why>"; keep only the why.
    let why = (r.stderr.trim().split("\n").pop() ?? "").replace(/^[^:]*: /, "");
    if (why.startsWith(`${file}: `)) why = why.slice(file.length + 2);
    throw new UsageError(`dgmo update: refusing ${file}: ${why || "verification failed"}`, 1);
  }
  try { return JSON.parse(r.stdout) as Verified; }
  catch { throw new UsageError("dgmo update: the launcher's answer was not JSON", 1); }
}

export function makeUpdate(version: string): Command {
  return {
    name: "update",
    summary: "check a downloaded dgmo binary and replace this one with it",
    help: `usage: dgmo update FILE [--signature SIG] [--apply] [--target PATH]

Checks that FILE is a DGMO binary signed with the key this binary trusts (the whole file
against SIG, default FILE.minisig, and the bundle's own signature) and that its version is
newer than ${version}. Without --apply it only reports. With --apply it copies FILE beside
the target, verifies that copy again, and renames it over the target. An unverified, older
or same-version file is never installed.${windows ? WINDOWS_NOTE : ""}

options:
  --signature SIG  minisign signature of FILE (default: FILE.minisig)
  --apply          replace the target after verifying
  --target PATH    the binary to replace (default: this binary)
  -h, --help       show this help`,
    async run(args) {
      const a = parseArgs("update", args, { signature: "string", apply: "bool", target: "string" });
      if (a.help) { console.log(this.help); return 0; }
      if (a.positionals.length !== 1) throw new UsageError("dgmo update: give exactly one FILE (see dgmo update --help)");
      const file = resolve(a.positionals[0]);
      const signature = resolve(String(a.flags.signature ?? `${a.positionals[0]}.minisig`));
      if (!existsSync(file)) throw new UsageError(`dgmo update: no such file: ${file}`, 1);
      if (!existsSync(signature)) throw new UsageError(`dgmo update: no signature for ${basename(file)}: ${signature} is missing`, 1);

      const checkVersion = (v: Verified) => {
        const order = compareVersions(v.version, version);
        if (order === null) throw new UsageError(`dgmo update: refusing ${file}: version ${v.version} is not a semantic version`, 1);
        if (order <= 0) throw new UsageError(`dgmo update: refusing ${file}: version ${v.version} is not newer than ${version}`, 1);
      };
      const found = await verify(file, signature);
      checkVersion(found);
      if (!a.flags.apply) {
        console.log(`update available: ${version} -> ${found.version} (verified, signed by key ${found.key_id}); run with --apply to install`);
        return 0;
      }
      const target = resolve(String(a.flags.target ?? bundleExe()));
      if (windows) removeSetAside(target);
      // Copy first, then verify the copy that will be installed: a FILE changed after the first
      // check cannot slip through. The rename is atomic, so the target is always a whole binary.
      const staged = join(dirname(target), `.${basename(target)}.update-${process.pid}`);
      try {
        copyFileSync(file, staged);
        // (Windows has no mode bits to set: what runs is decided by the name's .exe.)
        if (!windows) chmodSync(staged, 0o755);
        // Windows flushes a file only through a handle that may write to it (FlushFileBuffers).
        const fd = openSync(staged, windows ? "r+" : "r"); fsyncSync(fd); closeSync(fd);
        const again = await verify(staged, signature);
        checkVersion(again);
        if (again.version !== found.version) throw new UsageError(`dgmo update: ${file} changed while updating`, 1);
        if (windows) replaceRunning(staged, target);
        else renameSync(staged, target);
      } catch (e) {
        // Unless neither binary is in place any more: then the verified new one stays for the user.
        if (!(e instanceof RollbackFailed)) { try { unlinkSync(staged); } catch {} }
        if (e instanceof UsageError) throw e;
        throw new UsageError(`dgmo update: cannot replace ${target}: ${(e as Error).message}`, 1);
      }
      console.log(`updated ${target}: ${version} -> ${found.version}`);
      return 0;
    },
  };
}
