/**
 * The native seam's rules, checked on the sources: the model forward names no device (no backend include, no
 * backend type), only backend/create_backend.cc knows the concrete backends, and native code reads no
 * environment variable (every choice is resolved in TypeScript, lib/model/resolve-backend.ts).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";

const ROOT = join(__dirname, "..", "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.(cc|h|cu|cuh)$/.test(entry.name)) out.push(path);
  }
  return out;
}

function offending(files: string[], pattern: RegExp): string[] {
  return files.flatMap((file) =>
    readFileSync(join(ROOT, file), "utf8")
      .split("\n")
      .flatMap((line, i) =>
        pattern.test(line.replace(/\/\/.*$/, ""))
          ? [`${relative(ROOT, join(ROOT, file))}:${i + 1}: ${line.trim()}`]
          : [],
      ),
  );
}

describe("the native seam", () => {
  test("native/model includes no backend implementation and names no backend type", () => {
    const model = sources("native/model");
    expect(model.length).toBeGreaterThan(0);
    expect(offending(model, /#include\s+"(cpu|cuda)\//)).toEqual([]);
    expect(offending(model, /\b(Cpu|Cuda)[A-Z]\w*|\bcpu::|\bcuda::/)).toEqual([]);
  });

  test("only backend/create_backend.cc and the backends themselves include a concrete backend", () => {
    const outside = [...sources("native")].filter(
      (f) => !/^native\/(cpu|checks)\//.test(f) && f !== "native/backend/create_backend.cc",
    );
    const allowed = new Set(["native/napi/system_info.cc"]); // reports CPU features and kernel paths
    expect(offending(outside, /#include\s+"cpu\//).filter((l) => !allowed.has(l.split(":")[0]!))).toEqual([]);
  });

  test("native code reads no environment variable", () => {
    const all = [...sources("native"), ...sources("cuda")];
    expect(offending(all, /\b(getenv|secure_getenv|environ)\b/)).toEqual([]);
  });
});
