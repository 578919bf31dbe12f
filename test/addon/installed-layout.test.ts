/**
 * The loader in an installed-package layout: the library bundled into node_modules/mistral4-runtime/dist/, the
 * prebuilt platform package hoisted beside it (npm's default) or nested under it, a local build in
 * node_modules/mistral4-runtime/build/Release. Each case runs in a child process.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { platformKey, prebuiltFileName, prebuiltPackageName } from "../../lib/addon/platform";
import { bundleApp } from "../helpers/bundle";
import { builtAddonPath, envWithoutAddonPath, runNode } from "../helpers/run-node";
import { makeTempDir } from "../helpers/temp-dir";

const app = fileURLToPath(new URL("../embedding/apps/addon-info-app.ts", import.meta.url));
const tmp = makeTempDir("ms4-layout-");
let bundle: string;
let caseNumber = 0;

beforeAll(async () => {
  bundle = join(tmp.dir, "bundle.mjs");
  await bundleApp(app, bundle);
});
afterAll(() => tmp.cleanup());

interface Layout {
  /** The prebuilt binary's content: the built addon, garbage, or a library that kills its loader. */
  prebuilt?: { from: string; nested?: boolean };
  localBuild?: boolean;
}

/** Writes a consumer project with `layout` and returns the library's entry file inside it. */
function install(layout: Layout): string {
  const project = join(tmp.dir, `project-${++caseNumber}`);
  const lib = join(project, "node_modules", "mistral4-runtime");
  mkdirSync(join(lib, "dist"), { recursive: true });
  writeFileSync(join(lib, "package.json"), JSON.stringify({ name: "mistral4-runtime", version: "0.0.0" }));
  copyFileSync(bundle, join(lib, "dist", "index.mjs"));
  if (layout.prebuilt) {
    const base = layout.prebuilt.nested ? join(lib, "node_modules") : join(project, "node_modules");
    const pkg = join(base, prebuiltPackageName());
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, "package.json"),
      JSON.stringify({ name: prebuiltPackageName(), version: "0.0.0", main: prebuiltFileName() }),
    );
    copyFileSync(layout.prebuilt.from, join(pkg, prebuiltFileName()));
  }
  if (layout.localBuild) {
    mkdirSync(join(lib, "build", "Release"), { recursive: true });
    copyFileSync(builtAddonPath(), join(lib, "build", "Release", "mistral4.node"));
  }
  return join(lib, "dist", "index.mjs");
}

function garbageFile(): string {
  const path = join(tmp.dir, "garbage.node");
  writeFileSync(path, "this is not a shared library");
  return path;
}

/** A shared library whose constructor executes an illegal instruction: what a binary built for a newer CPU does. */
function crashingLibrary(): string | undefined {
  const source = join(tmp.dir, "crash.cc");
  const out = join(tmp.dir, "crash.node");
  writeFileSync(source, "__attribute__((constructor)) static void crash() { __builtin_trap(); }\n");
  const cc = spawnSync("c++", ["-shared", "-fPIC", "-o", out, source], { stdio: "ignore" });
  return cc.status === 0 ? out : undefined;
}

describe(`the loader in an installed package (${platformKey()})`, () => {
  test("takes the hoisted prebuilt platform package first, after test-loading it", async () => {
    const entry = install({ prebuilt: { from: builtAddonPath() }, localBuild: true });
    const run = await runNode(entry, [], envWithoutAddonPath());
    expect(run.code).toBe(0);
    const prebuilt = join(dirname(dirname(dirname(entry))), prebuiltPackageName(), prebuiltFileName());
    expect(run.result?.addon).toEqual({ path: prebuilt, source: "prebuilt package" });
  });

  test("finds a prebuilt nested under the library (npm's non-hoisted layouts)", async () => {
    const entry = install({ prebuilt: { from: builtAddonPath(), nested: true } });
    const run = await runNode(entry, [], envWithoutAddonPath());
    expect(run.code).toBe(0);
    expect(run.result?.addon).toMatchObject({ source: "prebuilt package" });
  });

  test("a prebuilt that fails its test load falls back to the local build, with a warning", async () => {
    const entry = install({ prebuilt: { from: garbageFile() }, localBuild: true });
    const run = await runNode(entry, [], envWithoutAddonPath());
    expect(run.code).toBe(0);
    expect(run.result?.addon).toMatchObject({ source: "local build" });
    expect(run.stderr).toMatch(
      /failed its test load \(it failed to load: Error: .*\); using the local build/,
    );
  });

  test("a prebuilt that would crash the process is reported, and the process lives", async () => {
    const crashing = crashingLibrary();
    if (!crashing) return; // no C++ compiler to make the crashing library with
    const entry = install({ prebuilt: { from: crashing } });
    const run = await runNode(entry, [], envWithoutAddonPath());
    expect(run.signal).toBeNull();
    expect(run.code).toBe(1);
    const error = run.result?.error as { name: string; message: string };
    expect(error.name).toBe("NativeAddonError");
    expect(error.message).toMatch(/failed its test load \(loading it killed the test process with SIGILL/);
    expect(error.message).toContain("there is no local build");
  });

  test("with neither a prebuilt nor a local build the error says what was tried and what to install", async () => {
    const entry = install({});
    const run = await runNode(entry, [], envWithoutAddonPath());
    expect(run.code).toBe(1);
    const error = run.result?.error as { name: string; message: string };
    expect(error.name).toBe("NativeAddonError");
    expect(error.message).toContain(`the prebuilt package ${prebuiltPackageName()} is not installed`);
    expect(error.message).toContain("there is no local build");
    expect(error.message).toContain("npm rebuild mistral4-runtime");
    expect(error.message).toContain("setNativeAddonPath(path)");
  });
});
