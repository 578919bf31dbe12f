/**
 * Test-loads an addon binary in a child process before this process loads it, so a binary that would kill the
 * process (an instruction this CPU lacks, a libc too old, a truncated file) is reported instead of crashing
 * the application. Used for prebuilt binaries, which were compiled on another machine.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";

/** The child loads the binary, checks its binding version and asks it for the CPU features. */
const PROBE_SOURCE = [
  'process.stdout.write("ms4-probe:start\\n");',
  "const binding = require(process.argv[1]);",
  'if (binding.abiVersion !== Number(process.argv[2])) throw new Error("binding version " + binding.abiVersion + ", expected " + process.argv[2]);',
  "binding.systemInfo();",
  'process.stdout.write("ms4-probe:ok\\n");',
].join("\n");

export type ProbeResult =
  | { status: "ok" }
  /** The binary cannot run here; `reason` says why. */
  | { status: "broken"; reason: string }
  /** No test was possible (inside Electron, or the child did not start): load without a test. */
  | { status: "inconclusive"; reason: string };

const results = new Map<string, ProbeResult>();

export function probeAddon(path: string, abiVersion: number, timeoutMs = 60_000): ProbeResult {
  const known = results.get(path);
  if (known) return known;
  if (process.versions.electron) {
    // Electron's executable runs as Node.js only where the RunAsNode fuse allows; elsewhere it would start a
    // second instance of the application. A packaged app ships the binary it was tested with.
    return { status: "inconclusive", reason: "not test-loaded inside Electron" };
  }
  const child = spawnSync(process.execPath, ["-e", PROBE_SOURCE, path, String(abiVersion)], {
    encoding: "utf8",
    timeout: timeoutMs,
    windowsHide: true,
  });
  const result = interpret(child);
  results.set(path, result);
  return result;
}

function interpret(child: SpawnSyncReturns<string>): ProbeResult {
  const stdout = child.stdout ?? "";
  if (child.error || !stdout.includes("ms4-probe:start")) {
    const why = child.error?.message ?? lastLine(child.stderr ?? "") ?? `exit status ${String(child.status)}`;
    return { status: "inconclusive", reason: `the test-load child process did not run (${why})` };
  }
  if (child.status === 0 && stdout.includes("ms4-probe:ok")) return { status: "ok" };
  if (child.signal) {
    const hint = child.signal === "SIGILL" ? ": it uses an instruction this CPU does not have" : "";
    return { status: "broken", reason: `loading it killed the test process with ${child.signal}${hint}` };
  }
  const message = errorLine(child.stderr ?? "") ?? `exit status ${String(child.status)}`;
  return { status: "broken", reason: `it failed to load: ${message}` };
}

function lastLine(text: string): string | undefined {
  const lines = text.trim().split(/\r?\n/);
  return lines.length > 0 && lines[lines.length - 1] !== "" ? lines[lines.length - 1] : undefined;
}

/** The "Error: ..." line of a Node.js stack trace, else the last line. */
function errorLine(stderr: string): string | undefined {
  const error = stderr.split(/\r?\n/).find((l) => /^\w*Error\b/.test(l));
  return error ?? lastLine(stderr);
}

/** For tests: forget earlier probe results. */
export function resetProbeCache(): void {
  results.clear();
}
