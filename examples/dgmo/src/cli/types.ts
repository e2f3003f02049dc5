/** The contract between the CLI and its plugins (plugins are built separately and get this at load). */
export interface Command {
  name: string;
  summary: string;
  /** Full help text shown by `dgmo <name> --help` and `dgmo help <name>`. */
  help: string;
  run(args: string[]): Promise<number>;
}

export interface PluginAPI {
  version: string;
  addCommand(command: Command): void;
  /** Runs another entry of this DGMO binary (the Python engine, a Go component) with inherited stdio. */
  runEntry(entry: string, args: string[]): Promise<number>;
  /** Same, but returns what the entry printed on stdout. */
  captureEntry(entry: string, args: string[]): Promise<{ status: number; stdout: string }>;
}

export interface Plugin {
  name: string;
  version: string;
  register(api: PluginAPI): void;
}

/** A failure the user caused (bad flag, existing file): one line on stderr, no stack trace. */
export class UsageError extends Error {
  constructor(message: string, readonly status = 2) {
    super(message);
  }
}
