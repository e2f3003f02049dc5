import { parseArgs } from "../args";
import { runEntry } from "../launcher";
import { UsageError, type Command } from "../types";

export const evolve: Command = {
  name: "evolve",
  summary: "run the evolutionary engine (Python) and print each generation's best score",
  help: `usage: dgmo evolve [--seed N] [--generations N] [--population N] [--json]

Starts the DGM engine (Python, run through this binary's dgmo-engine entry) and prints
the best score of each generation. The same seed always gives the same run.

options:
  --seed N          random seed (default 0)
  --generations N   number of generations (default 10)
  --population N    candidates per generation (default 32)
  --json            one JSON object per generation
  -h, --help        show this help`,
  async run(args) {
    const a = parseArgs("evolve", args, { seed: "int", generations: "int", population: "int", json: "bool" });
    if (a.help) { console.log(this.help); return 0; }
    if (a.positionals.length) throw new UsageError(`dgmo evolve: unexpected argument ${a.positionals[0]}`);
    const forward = ["evolve"];
    for (const k of ["seed", "generations", "population"]) {
      if (a.flags[k] !== undefined) forward.push(`--${k}`, String(a.flags[k]));
    }
    if (a.flags.json) forward.push("--json");
    return await runEntry("dgmo-engine", forward);
  },
};
