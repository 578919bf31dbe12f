import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { PREBUILT_KEYS, platformKey, prebuiltFileName, prebuiltPackageName } from "../../lib/addon/platform";

const root = new URL("../../", import.meta.url);

/** Evaluates an ES module snippet with node in the repository root and parses what it prints. */
function evalModule(source: string): unknown {
  return JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", source], { cwd: root, encoding: "utf8" }),
  );
}

describe("prebuilt package names", () => {
  test("the install script (scripts/native/platform.mjs) and the library name the same package and file", () => {
    const fromScript = evalModule(
      'import * as p from "./scripts/native/platform.mjs";' +
        "console.log(JSON.stringify([p.platformKey(), p.prebuiltPackageName(), p.prebuiltFileName(), " +
        'p.platformKey("linux", "arm64"), p.platformKey("win32", "x64"), p.platformKey("darwin", "arm64")]));',
    );
    expect(fromScript).toEqual([
      platformKey(),
      prebuiltPackageName(),
      prebuiltFileName(),
      platformKey("linux", "arm64"),
      platformKey("win32", "x64"),
      platformKey("darwin", "arm64"),
    ]);
  });

  test("the library's list of published platforms is package.json napi.targets in @napi-rs/cli's naming", () => {
    const targets = evalModule(
      'import { prebuiltTargets, readManifest } from "./scripts/release/targets.mjs";' +
        'console.log(JSON.stringify(prebuiltTargets(readManifest("."))));',
    ) as { key: string; packageName: string }[];
    expect(targets.map((t) => t.key)).toEqual(PREBUILT_KEYS);
    expect(targets.map((t) => t.packageName)).toEqual(PREBUILT_KEYS.map((k) => prebuiltPackageName(k)));
    const manifest = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
      napi: { binaryName: string };
    };
    expect(prebuiltFileName("linux-x64-gnu")).toBe(`${manifest.napi.binaryName}.linux-x64-gnu.node`);
  });

  test("this x64 glibc machine is linux-x64-gnu, the platform with a prebuilt", () => {
    if (process.platform !== "linux" || process.arch !== "x64") return;
    expect(platformKey()).toBe("linux-x64-gnu");
    expect(PREBUILT_KEYS).toContain("linux-x64-gnu");
  });
});
