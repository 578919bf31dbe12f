/**
 * Loads xgrammar's WASM build (`@mlc-ai/web-xgrammar`, a devDependency) in Node, offline: the package's
 * single file embeds the WebAssembly module as base64. Its UMD wrapper needs a CommonJS scope that the
 * package's `"type": "module"` denies it, so the file is evaluated as a CommonJS function body; its one
 * dynamic `import('module')` (for createRequire) is served directly, since code built by `new Function`
 * has no module loader under a test runner's VM.
 * Used as an independent oracle by the tests and by the comparison bench, never by the library.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type * as XGrammar from "@mlc-ai/web-xgrammar";

export type { XGrammar };

type Module = typeof XGrammar;

let loaded: Module | undefined;

export function xgrammar(): Module {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve("@mlc-ai/web-xgrammar");
  const module = { exports: {} as Module };
  const body = readFileSync(file, "utf8").replace("import('module')", "__nodeModule()");
  const run = new Function("exports", "module", "require", "__filename", "__dirname", "__nodeModule", body);
  const nodeModule = async () => ({ createRequire });
  run.call(module.exports, module.exports, module, createRequire(file), file, dirname(file), nodeModule);
  loaded = module.exports;
  return loaded;
}

/** GPT-2's byte ↔ printable-character map, the "byte_level" vocabulary encoding xgrammar decodes. */
const BYTE_TO_CHAR: string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map: string[] = new Array(256);
  for (const b of printable) map[b] = String.fromCodePoint(b);
  let extra = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + extra++);
  return map;
})();

/** A token's bytes in xgrammar's byte_level encoding. */
export function byteLevel(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b]!;
  return s;
}
