/** A small flag parser: `--name value`, `--name=value`, booleans, and positionals. */
import { UsageError } from "./types";

export interface FlagSpec {
  [name: string]: "string" | "int" | "bool";
}

export interface Parsed {
  flags: Record<string, string | number | boolean>;
  positionals: string[];
  help: boolean;
}

export function parseArgs(command: string, args: string[], spec: FlagSpec): Parsed {
  const out: Parsed = { flags: {}, positionals: [], help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") { out.help = true; continue; }
    if (arg === "--") { out.positionals.push(...args.slice(i + 1)); break; }
    if (!arg.startsWith("--")) { out.positionals.push(arg); continue; }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`dgmo ${command}: unknown option --${name} (see dgmo ${command} --help)`);
    if (kind === "bool") {
      if (eq >= 0) throw new UsageError(`dgmo ${command}: --${name} takes no value`);
      out.flags[name] = true;
      continue;
    }
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new UsageError(`dgmo ${command}: --${name} needs a value`);
    if (kind === "int") {
      if (!/^-?[0-9]+$/.test(value)) throw new UsageError(`dgmo ${command}: --${name}: not an integer: ${value}`);
      out.flags[name] = Number.parseInt(value, 10);
    } else {
      out.flags[name] = value;
    }
  }
  return out;
}
