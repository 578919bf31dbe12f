// Finds a build tool's command the way Node.js finds modules, starting at this package: it works whether npm
// hoisted the tool into the application's node_modules (the default) or nested it under this package.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The file behind `bin` of package `name` (its only bin, or the one called `binName`), or undefined. */
export function resolveBin(fromDir, name, binName = name) {
  const require = createRequire(join(fromDir, "package.json"));
  let manifestPath;
  try {
    manifestPath = require.resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  const manifest = require(manifestPath);
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.[binName];
  return bin ? join(dirname(manifestPath), bin) : undefined;
}
