/**
 * Starting the other parts of DGMO. They live in other layers of the same binary, so the CLI
 * runs the binary again (`DGMO_BUNDLE_EXE`, set by the launcher) with `DGMO_ENTRY` naming the
 * part: the launcher then extracts only that part's layers (`dgmo sysinfo` never unpacks Python).
 */
import { UsageError } from "./types";

const windows = process.platform === "win32";

export function bundleExe(): string {
  const exe = process.env.DGMO_BUNDLE_EXE;
  if (!exe) throw new UsageError("not started by the DGMO launcher (DGMO_BUNDLE_EXE is not set)", 1);
  return exe;
}

function entryEnv(entry: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.DGMO_ENTRY = entry;
  // The launcher execs the entry, so its parent is this process: a component that finds another
  // parent (dgmo was killed before or while it started) knows it is orphaned and stops. Windows
  // has no exec: the launcher runs the entry as its child, so dgmo is the grandparent there, and
  // a component watches this pid through a process handle instead (native/internal/parent).
  env.DGMO_PARENT_PID = String(process.pid);
  return env;
}

/**
 * Signals that end a command. `kill -TERM` on `dgmo watch` must not leave the Go watcher running
 * under PID 1 (still holding its cache layer in use): while a child runs, these signals are passed
 * on to it, dgmo waits for it to stop and then ends the way it did.
 */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

/**
 * On Windows only Ctrl+C and Ctrl+Break reach a console program as signals (no one can send
 * SIGTERM or SIGQUIT, and SIGHUP is the console closing, which ends every process on it). The
 * console gives the event to the child as well (the launcher between stays and waits), so dgmo
 * only waits for it; a second one ends it, for a child that does not stop. Killing a process
 * there is TerminateProcess: no signal to pass on and none to end by.
 */
const CONSOLE_EVENTS = ["SIGINT", "SIGBREAK"] as const;

type Child = { kill(signal?: number | string): void; exited: Promise<number>; signalCode: string | null };

/**
 * Passes the signals dgmo receives to `child` until it exits, and kills it if dgmo itself exits
 * first (an uncaught error). When the child was ended by a forwarded signal, dgmo ends by the
 * same signal, so its parent sees what a direct run would have shown.
 */
async function supervised(child: Child): Promise<number> {
  let forwarded: string | null = null;
  let interrupts = 0;
  const handlers = (windows ? CONSOLE_EVENTS : FORWARDED).map((sig) => {
    const h = windows
      ? () => { if (++interrupts > 1) try { child.kill(); } catch { /* already gone */ } }
      : () => { forwarded = sig; try { child.kill(sig); } catch { /* already gone */ } };
    process.on(sig, h);
    return [sig, h] as const;
  });
  const onExit = () => { try { child.kill("SIGTERM"); } catch { /* already gone */ } };
  process.on("exit", onExit);
  try {
    const status = await child.exited;
    const sig = child.signalCode;
    if (sig && forwarded) {
      // The child ended by the signal we passed on: end the same way (the default action, with
      // our handlers removed), so whoever sent it sees dgmo killed by it.
      for (const [s, h] of handlers) process.off(s, h);
      process.off("exit", onExit);
      process.kill(process.pid, sig);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return status;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    process.off("exit", onExit);
  }
}

export async function runEntry(entry: string, args: string[]): Promise<number> {
  const proc = Bun.spawn([bundleExe(), ...args], {
    env: entryEnv(entry),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  });
  return await supervised(proc);
}

export async function captureEntry(entry: string, args: string[]): Promise<{ status: number; stdout: string }> {
  const proc = Bun.spawn([bundleExe(), ...args], {
    env: entryEnv(entry),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const [stdout, status] = await Promise.all([new Response(proc.stdout).text(), supervised(proc)]);
  return { status, stdout };
}

/** Runs the launcher's own commands (`--launcher ...`) of a DGMO binary and captures both streams. */
export async function launcherCommand(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "DGMO_ENTRY") env[k] = v;
  const proc = Bun.spawn([bundleExe(), "--launcher", ...args], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), supervised(proc)]);
  return { status, stdout, stderr };
}
