import { existsSync, readFileSync, writeFileSync, renameSync, unlinkSync } from "node:fs";
import { join, basename, resolve } from "node:path";
import { parseArgs } from "../args";
import { assetsDir } from "../paths";
import { UsageError, type Command } from "../types";

export const CONFIG_FILE = "dgmo.config.json";

export const init: Command = {
  name: "init",
  summary: "write a project config (dgmo.config.json) in the current directory",
  help: `usage: dgmo init [--name NAME] [--force]

Writes ${CONFIG_FILE} in the current directory from the bundled template.
An existing ${CONFIG_FILE} is kept unless --force is given.

options:
  --name NAME   project name (default: the directory's name)
  --force       replace an existing ${CONFIG_FILE}
  -h, --help    show this help`,
  async run(args) {
    const a = parseArgs("init", args, { name: "string", force: "bool" });
    if (a.help) { console.log(this.help); return 0; }
    if (a.positionals.length) throw new UsageError(`dgmo init: unexpected argument ${a.positionals[0]}`);
    const target = resolve(process.cwd(), CONFIG_FILE);
    if (existsSync(target) && !a.flags.force) {
      throw new UsageError(`dgmo init: ${CONFIG_FILE} already exists in ${process.cwd()} (use --force to replace it)`, 1);
    }
    const name = String(a.flags.name ?? basename(process.cwd()) ?? "project");
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      throw new UsageError(`dgmo init: --name: use 1-64 letters, digits, '.', '_' or '-': ${name}`);
    }
    const template = readFileSync(join(assetsDir, "templates", CONFIG_FILE), "utf8");
    const text = template.replaceAll("{{name}}", name);
    JSON.parse(text); // the template must stay valid JSON
    // Write beside the target and rename, so an interrupted init never leaves half a file.
    const tmp = `${target}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, target);
    } catch (e) {
      try { unlinkSync(tmp); } catch {}
      throw new UsageError(`dgmo init: cannot write ${target}: ${(e as Error).message}`, 1);
    }
    console.log(`wrote ${target}`);
    return 0;
  },
};
