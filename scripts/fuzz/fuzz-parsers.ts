/**
 * The long property-based fuzz run of the parsers (docs/reliability.md#fuzzing):
 *
 *   npm run fuzz -- --runs N [--target NAME] [--seed S] [--json FILE]
 *
 * Runs every target (or one) for N generated cases and prints a table per target: cases, accepted, rejections by error
 * code, the slowest case and the time taken. A failing property prints fast-check's shrunk counterexample with the seed
 * and path that replay it, and the script exits 1. `--json FILE` also writes the reports as JSON.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type FuzzReport, fuzz } from "../../test/fuzz/harness";
import { FUZZ_TARGETS } from "../../test/fuzz/targets/index";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    target: { type: "string" },
    seed: { type: "string" },
    json: { type: "string" },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, not ${values.runs}`);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed))
  throw new Error(`--seed must be an integer, not ${values.seed}`);
const targets = FUZZ_TARGETS.filter((t) => values.target === undefined || t.name === values.target);
if (targets.length === 0) {
  throw new Error(`no target "${values.target}"; targets: ${FUZZ_TARGETS.map((t) => t.name).join(", ")}`);
}

const reports: FuzzReport[] = [];
for (const target of targets) {
  console.log(`fuzzing ${target.name} (${target.reads}): ${runs} cases…`);
  const report = await fuzz(target, { numRuns: runs, ...(seed === undefined ? {} : { seed }) });
  reports.push(report);
  if (report.failure) console.log(`FAILED ${target.name}:\n${report.failure}`);
}

const rows = reports.map((r) => [
  r.name,
  String(r.runs),
  String(r.accepted),
  Object.entries(r.rejected)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(", ") || "none",
  `${r.slowestCaseMs.toFixed(1)} ms`,
  r.seconds.toFixed(1),
  String(r.seed),
  r.failure ? "FAILED" : "ok",
]);
const header = [
  "target",
  "cases",
  "accepted",
  "rejected by code",
  "slowest case",
  "seconds",
  "seed",
  "result",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
for (const row of rows) console.log(line(row));
if (values.json) writeFileSync(values.json, `${JSON.stringify(reports, null, 2)}\n`);
if (reports.some((r) => r.failure)) process.exitCode = 1;
