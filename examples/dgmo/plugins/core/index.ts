/**
 * The core plugin: commands built on the Go components. Plugins are compiled on their own
 * (application-code/plugins/<name>.js) and get the CLI's API when loaded, so they import nothing from it.
 */
import type { Plugin, PluginAPI } from "../../src/cli/types";

function wantsHelp(args: string[]) { return args.includes("--help") || args.includes("-h"); }

const plugin: Plugin = {
  name: "core",
  version: "1.0.0",
  register(api: PluginAPI) {
    const watch = {
      name: "watch",
      summary: "print a JSON line for each change under the given paths (Go file-watcher)",
      help: `usage: dgmo watch [--interval D] [--count N] [--timeout D] PATH...

Runs the file-watcher component and prints one JSON line per created, modified or
removed file. D is a duration such as 500ms or 2s.`,
      async run(args: string[]) {
        if (wantsHelp(args)) { console.log(watch.help); return 0; }
        return await api.runEntry("dgmo-file-watcher", args);
      },
    };
    const supervise = {
      name: "supervise",
      summary: "run a command, restarting it on failure (Go process-manager)",
      help: `usage: dgmo supervise [--restarts N] [--delay D] -- COMMAND [ARG...]

Runs COMMAND under the process-manager component: signals are forwarded, a failing
command is restarted up to N times, and dgmo exits with its last status.`,
      async run(args: string[]) {
        if (args[0] === "--help" || args[0] === "-h") { console.log(supervise.help); return 0; }
        return await api.runEntry("dgmo-process-manager", args);
      },
    };
    api.addCommand(watch);
    api.addCommand(supervise);
  },
};

export default plugin;
