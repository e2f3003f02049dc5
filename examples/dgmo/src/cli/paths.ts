/**
 * Where the CLI's files are. In a bundle, `cli-entry.js` sits in `application-code/`, beside
 * `metadata/` and `embedded-resources/assets/` (one layer). From source, the same layout is
 * found relative to the repository (`bun src/cli/index.ts`).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

const bundled = existsSync(join(import.meta.dir, "plugins"));

export const appRoot = bundled ? join(import.meta.dir, "..") : join(import.meta.dir, "..", "..");
export const pluginsDir = bundled ? join(import.meta.dir, "plugins") : join(appRoot, "plugins");
export const assetsDir = bundled ? join(appRoot, "embedded-resources", "assets") : join(appRoot, "assets");
