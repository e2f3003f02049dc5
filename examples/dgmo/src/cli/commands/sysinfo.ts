import { parseArgs } from "../args";
import { captureEntry } from "../launcher";
import { UsageError, type Command } from "../types";

export function makeSysinfo(version: string): Command {
  return {
    name: "sysinfo",
    summary: "print facts about this machine as JSON (Go system-info component)",
    help: `usage: dgmo sysinfo [--pretty]

Runs the system-info component (Go, this binary's dgmo-system-info entry) and prints its JSON,
with the DGMO and Bun versions added.

options:
  --pretty     indent the JSON
  -h, --help   show this help`,
    async run(args) {
      const a = parseArgs("sysinfo", args, { pretty: "bool" });
      if (a.help) { console.log(this.help); return 0; }
      if (a.positionals.length) throw new UsageError(`dgmo sysinfo: unexpected argument ${a.positionals[0]}`);
      const { status, stdout } = await captureEntry("dgmo-system-info", []);
      if (status !== 0) return status;
      let info: Record<string, unknown>;
      try { info = JSON.parse(stdout); } catch { throw new UsageError("dgmo sysinfo: the system-info component printed no valid JSON", 1); }
      const out = { dgmo_version: version, bun_version: Bun.version, ...info };
      console.log(a.flags.pretty ? JSON.stringify(out, null, 2) : JSON.stringify(out));
      return 0;
    },
  };
}
