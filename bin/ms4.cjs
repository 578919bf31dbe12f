#!/usr/bin/env node
// The `ms4` command: runs the built CLI (dist/cli.cjs). In a clone, `npm install` builds it.
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const cli = join(__dirname, "..", "dist", "cli.cjs");
if (!existsSync(cli)) {
  console.error("ms4: the library is not built (dist/cli.cjs is missing); run `npm install` or `npm run build:ts`.");
  process.exit(1);
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
