/**
 * What `npm pack` ships: the file list (without running the pack scripts), the links of the shipped
 * Markdown, the Node.js range against the dependencies' own ranges.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { describe, expect, test } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};

function packedFiles(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

const files = packedFiles();

describe("the packed package", () => {
  test("ships the built library, the CLI once, the addon sources, the install scripts, docs and the example", () => {
    for (const path of [
      "dist/index.js",
      "dist/index.cjs",
      "dist/index.d.ts",
      "dist/index.d.cts",
      "dist/cli.cjs",
      "bin/ms4.cjs",
      "CMakeLists.txt",
      "binding.gyp",
      "native/sources.txt",
      "scripts/install.mjs",
      "scripts/build-native.mjs",
      "scripts/native/platform.mjs",
      "scripts/native/resolve-tool.mjs",
      "docs/embedding.md",
      "docs/electron.md",
      "examples/electron/model-host.mjs",
      "README.md",
    ]) {
      expect(files).toContain(path);
    }
  });

  test("ships no source maps, no unused ESM CLI, no TypeScript sources, tests, benchmarks or release tooling", () => {
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(files).not.toContain("dist/cli.js");
    const unwanted = /^(lib|test|bench|scripts\/release|scripts\/ci|\.ci)\//;
    expect(files.filter((f) => unwanted.test(f))).toEqual([]);
  });

  test("every relative link in the shipped Markdown points at a shipped file", () => {
    const broken: string[] = [];
    for (const doc of files.filter((f) => f.endsWith(".md"))) {
      const text = readFileSync(join(root, doc), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!) || target!.startsWith("#")) continue;
        const path = normalize(join(dirname(doc), target!.split("#")[0]!)).replace(/\/$/, "");
        if (!files.some((f) => f === path || f.startsWith(`${path}/`))) broken.push(`${doc} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("engines.node admits no Node.js version a dependency rejects", () => {
    for (const dependency of Object.keys(manifest.dependencies)) {
      const depManifest = JSON.parse(
        readFileSync(join(root, "node_modules", dependency, "package.json"), "utf8"),
      ) as { engines?: { node?: string } };
      const range = depManifest.engines?.node;
      if (range)
        expect(semver.subset(manifest.engines.node, range), `${dependency} needs ${range}`).toBe(true);
    }
  });
});
