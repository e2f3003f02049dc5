/**
 * Starting the other parts of DGMO. They live in other layers of the same binary, so the CLI
 * runs the binary again (`DGMO_BUNDLE_EXE`, set by the launcher) with `DGMO_ENTRY` naming the
 * part: the launcher then extracts only that part's layers (`dgmo sysinfo` never unpacks Python).
 */
import { UsageError } from "./types";

export function bundleExe(): string {
  const exe = process.env.DGMO_BUNDLE_EXE;
  if (!exe) throw new UsageError("not started by the DGMO launcher (DGMO_BUNDLE_EXE is not set)", 1);
  return exe;
}

function entryEnv(entry: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.DGMO_ENTRY = entry;
  return env;
}

export async function runEntry(entry: string, args: string[]): Promise<number> {
  const proc = Bun.spawn([bundleExe(), ...args], {
    env: entryEnv(entry),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  });
  return await proc.exited;
}

export async function captureEntry(entry: string, args: string[]): Promise<{ status: number; stdout: string }> {
  const proc = Bun.spawn([bundleExe(), ...args], {
    env: entryEnv(entry),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const stdout = await new Response(proc.stdout).text();
  return { status: await proc.exited, stdout };
}

/** Runs the launcher's own commands (`--launcher ...`) of a DGMO binary and captures both streams. */
export async function launcherCommand(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "DGMO_ENTRY") env[k] = v;
  const proc = Bun.spawn([bundleExe(), "--launcher", ...args], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { status: await proc.exited, stdout, stderr };
}
