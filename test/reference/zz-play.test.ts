import { test } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTiny } from "../../lib/tiny/make-tiny";
import { ReferenceModel } from "../../test/reference/reference-model";
test("play", async () => {
  const root = await mkdtemp(join(tmpdir(), "refplay-"));
  const out: Record<string, Float64Array> = {};
  for (const quant of ["bf16", "fp8", "nvfp4"] as const) for (const layout of ["native", "hf"] as const) {
    let t0 = performance.now();
    const dir = join(root, `${quant}-${layout}`);
    await makeTiny(dir, { layout, quant, seed: 7 });
    const t1 = performance.now();
    const m = await ReferenceModel.open(dir, layout);
    const toks = [1, 5, 100, 2000, 37, 900, 44, 1234, 17, 3, 999, 512];
    const lg = m.forward(toks);
    const t2 = performance.now();
    out[`${quant}-${layout}`] = lg;
    console.log(quant, layout, "make", (t1 - t0).toFixed(0), "fwd", (t2 - t1).toFixed(0), lg.slice(0, 4), m.trace(toks).layers[0]!.routes[0]);
  }
  const rel = (a: Float64Array, b: Float64Array) => { let n = 0, d = 0, mx = 0; for (let i = 0; i < a.length; i++) { n += (a[i]! - b[i]!) ** 2; d += a[i]! ** 2; mx = Math.max(mx, Math.abs(a[i]! - b[i]!)); } return [Math.sqrt(n / d), mx]; };
  for (const q of ["bf16", "fp8", "nvfp4"]) console.log(q, "native vs hf", rel(out[`${q}-native`]!, out[`${q}-hf`]!));
  console.log("fp8 vs bf16", rel(out["bf16-native"]!, out["fp8-native"]!));
  console.log("nvfp4 vs bf16", rel(out["bf16-native"]!, out["nvfp4-native"]!));
  await rm(root, { recursive: true });
});
