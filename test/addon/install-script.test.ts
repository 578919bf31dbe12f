/**
 * The npm install hook (scripts/install.mjs) and the build tools it finds, run for real in installed-package
 * layouts made in a temporary folder. The full source builds run in scripts/ci/pack-install-check.sh.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { prebuiltFileName, prebuiltPackageName } from "../../lib/addon/platform";
import { builtAddonPath } from "../helpers/run-node";
import { makeTempDir } from "../helpers/temp-dir";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const tmp = makeTempDir("ms4-install-script-");
afterAll(() => tmp.cleanup());
let caseNumber = 0;

/** An application folder with mistral4-runtime's install scripts in node_modules; returns both paths. */
function project(): { app: string; lib: string } {
  const app = join(tmp.dir, `app-${++caseNumber}`);
  const lib = join(app, "node_modules", "mistral4-runtime");
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, "package.json"), JSON.stringify({ name: "mistral4-runtime", version: "0.0.0" }));
  cpSync(join(repo, "scripts", "install.mjs"), join(lib, "scripts", "install.mjs"));
  cpSync(join(repo, "scripts", "build-native.mjs"), join(lib, "scripts", "build-native.mjs"));
  cpSync(join(repo, "scripts", "native"), join(lib, "scripts", "native"), { recursive: true });
  return { app, lib };
}

function addPackage(
  dir: string,
  name: string,
  manifest: Record<string, unknown>,
  files: Record<string, string>,
) {
  const pkg = join(dir, "node_modules", name);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name, version: "0.0.0", ...manifest }));
  for (const [file, from] of Object.entries(files)) {
    mkdirSync(join(pkg, file, ".."), { recursive: true });
    cpSync(from, join(pkg, file));
  }
}

function runInstall(lib: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(lib, "scripts", "install.mjs")], {
    cwd: lib,
    env: { ...process.env, MS4_SKIP_NATIVE_BUILD: "", MS4_BUILD_FROM_SOURCE: "", ...env },
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function resolveBin(from: string, name: string): string | undefined {
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { resolveBin } from ${JSON.stringify(join(repo, "scripts", "native", "resolve-tool.mjs"))};` +
        `console.log(resolveBin(${JSON.stringify(from)}, ${JSON.stringify(name)}) ?? "none");`,
    ],
    { encoding: "utf8" },
  );
  const out = r.stdout.trim();
  return out === "none" ? undefined : out;
}

describe("the install script", () => {
  test("finds cmake-js where npm hoisted it (beside the package) and where it nested it (under the package)", () => {
    const hoisted = project();
    addPackage(hoisted.app, "cmake-js", { bin: { "cmake-js": "./bin/cmake-js" } }, {});
    expect(resolveBin(hoisted.lib, "cmake-js")).toBe(
      join(hoisted.app, "node_modules", "cmake-js", "bin", "cmake-js"),
    );
    const nested = project();
    addPackage(nested.lib, "node-gyp", { bin: { "node-gyp": "./bin/node-gyp.js" } }, {});
    expect(resolveBin(nested.lib, "node-gyp")).toBe(
      join(nested.lib, "node_modules", "node-gyp", "bin", "node-gyp.js"),
    );
    expect(resolveBin(nested.lib, "cmake-js")).toBeUndefined();
  });

  test("uses a prebuilt package that loads and compiles nothing", () => {
    const { app, lib } = project();
    const key = prebuiltFileName();
    addPackage(app, prebuiltPackageName(), { main: key }, { [key]: builtAddonPath() });
    const r = runInstall(lib);
    expect(r.status).toBe(0);
    expect(r.output).toContain(`using the prebuilt binary ${prebuiltPackageName()}`);
    expect(r.output).not.toContain("building");
  });

  test("a prebuilt that does not load leads to a source build, which says what is missing", () => {
    const { app, lib } = project();
    const garbage = join(tmp.dir, "garbage.node");
    writeFileSync(garbage, "not a shared library");
    const key = prebuiltFileName();
    addPackage(app, prebuiltPackageName(), { main: key }, { [key]: garbage });
    // A PATH with node alone: no compiler, no cmake.
    const bin = join(tmp.dir, "bin-node-only");
    mkdirSync(bin, { recursive: true });
    const r = runInstall(lib, { PATH: bin, CXX: "" });
    expect(r.output).toMatch(/the prebuilt binary .* does not load here \(.*\): building from source/);
    expect(r.output).toContain("no C++ compiler found");
    expect(r.status).toBe(1);
  });

  test("MS4_SKIP_NATIVE_BUILD=1 installs without an addon", () => {
    const { lib } = project();
    const r = runInstall(lib, { MS4_SKIP_NATIVE_BUILD: "1" });
    expect(r.status).toBe(0);
    expect(r.output).toContain("installing without the native addon");
  });
});

describe("CUDA device support in the cmake build", () => {
  const hasTools = ["cmake", "nvcc"].every((tool) => spawnSync(tool, ["--version"]).status === 0);
  const configure = (cuda: string, arch: string) => {
    const out = join(tmp.dir, `cmake-${cuda}-${arch}`);
    const cmakeJs = join(repo, "node_modules", "cmake-js", "bin", "cmake-js");
    const args = [cmakeJs, "configure", "--directory", repo, "--out", out, `--CDMS4_CUDA=${cuda}`];
    const r = spawnSync(process.execPath, [...args, `--CDMS4_CUDA_ARCHS=${arch}`], {
      env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? "/usr" },
      encoding: "utf8",
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };

  test.runIf(hasTools)(
    "an nvcc that cannot compile the architecture leaves CUDA out of AUTO and fails ON",
    () => {
      const auto = configure("AUTO", "200");
      expect(auto.status).toBe(0);
      expect(auto.output).toMatch(/cannot compile for sm_200 .*: building without CUDA device support/);
      expect(auto.output).not.toContain("cublas");
      const on = configure("ON", "200");
      expect(on.status).not.toBe(0);
      expect(on.output).toContain("MS4_CUDA=ON but");
    },
    240_000, // two cmake configures that look for the CUDA toolkit, on a busy machine
  );
});
