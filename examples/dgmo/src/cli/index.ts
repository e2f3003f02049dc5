/**
 * DGMO's command line. Run by the bundled Bun (`dgmo` entry) or from source (`bun src/cli/index.ts`).
 * Commands come from here and from plugins (`plugins/*.js`, loaded at start).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json";
import { evolve } from "./commands/evolve";
import { init } from "./commands/init";
import { makeSysinfo } from "./commands/sysinfo";
import { makeUpdate } from "./commands/update";
import { captureEntry, runEntry } from "./launcher";
import { pluginsDir } from "./paths";
import { UsageError, type Command, type Plugin, type PluginAPI } from "./types";

/** The bundle's signed manifest version when run by the launcher (dgmo-build checks it equals package.json's). */
const VERSION: string = process.env.DGMO_BUNDLE_VERSION ?? pkg.version;
const commands = new Map<string, Command>();
const loaded: { name: string; version: string; file: string }[] = [];

function add(c: Command) {
  if (commands.has(c.name)) throw new Error(`two commands named ${c.name}`);
  commands.set(c.name, c);
}

const api: PluginAPI = { version: VERSION, addCommand: add, runEntry, captureEntry };

async function loadPlugins() {
  // Bundled: plugins/<name>.js. From source: plugins/<name>/index.ts.
  let files: string[];
  try {
    files = readdirSync(pluginsDir, { withFileTypes: true })
      .map((d) => (d.isDirectory() ? `${d.name}/index.ts` : d.name))
      .filter((f) => f.endsWith(".js") || f.endsWith("/index.ts"))
      .sort();
  } catch { return; }
  for (const file of files) {
    const path = join(pluginsDir, file);
    try {
      const mod = await import(path);
      const plugin: Plugin = mod.default;
      if (!plugin || typeof plugin.register !== "function") throw new Error("no default export with register()");
      plugin.register(api);
      loaded.push({ name: plugin.name, version: plugin.version, file });
    } catch (e) {
      console.error(`dgmo: plugin ${file} not loaded: ${(e as Error).message}`);
    }
  }
}

function usage(): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length));
  const lines = [...commands.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `DGMO v${VERSION}

usage: dgmo <command> [options]

commands:
${lines.join("\n")}

options:
  --version   print the version
  -h, --help  show this help (dgmo <command> --help for a command)

The launcher's own commands (cache, verify, info): dgmo --launcher help`;
}

const help: Command = {
  name: "help",
  summary: "show help for dgmo or one command",
  help: "usage: dgmo help [COMMAND]\n\nShows the list of commands, or one command's help.",
  async run(args) {
    if (args[0] === "--help" || args[0] === "-h") { console.log(this.help); return 0; }
    if (args.length === 0) { console.log(usage()); return 0; }
    const c = commands.get(args[0]);
    if (!c) throw new UsageError(`dgmo help: unknown command ${args[0]} (see dgmo help)`);
    console.log(c.help);
    return 0;
  },
};

const plugins: Command = {
  name: "plugins",
  summary: "list the loaded plugins",
  help: "usage: dgmo plugins [--json]\n\nLists the plugins loaded at start, from " + pluginsDir,
  async run(args) {
    if (args.includes("--help") || args.includes("-h")) { console.log(this.help); return 0; }
    if (args.includes("--json")) { console.log(JSON.stringify(loaded)); return 0; }
    for (const p of loaded) console.log(`${p.name} ${p.version} (${p.file})`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  for (const c of [help, init, evolve, makeSysinfo(VERSION), makeUpdate(VERSION), plugins]) add(c);
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-V") { console.log(`DGMO v${VERSION}`); return 0; }
  await loadPlugins();
  if (first === undefined || first === "--help" || first === "-h") { console.log(usage()); return 0; }
  if (first.startsWith("-")) throw new UsageError(`dgmo: unknown option ${first} (see dgmo --help)`);
  const c = commands.get(first);
  if (!c) throw new UsageError(`dgmo: unknown command ${first} (see dgmo help)`);
  return await c.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(e.message);
    process.exitCode = e.status;
  } else {
    console.error(`dgmo: internal error: ${(e as Error)?.stack ?? e}`);
    process.exitCode = 70;
  }
}
