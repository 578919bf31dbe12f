/**
 * `ms4 serve` as a child process, the way a user runs it: the CLI is bundled from the sources with esbuild
 * (no build step needed before the tests) into the repo's ignored tmp/ folder, started with `--port 0`, and
 * its "listening on" line gives the URL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(__dirname, "..", "..", "..");

export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the server printed so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it is still there after `ms`. */
  stop(ms?: number): Promise<number | null>;
}

let bundled: Promise<string> | undefined;

/** The CLI bundled once per test file. */
function cliBundle(): Promise<string> {
  bundled ??= (async () => {
    const dir = join(ROOT, "tmp", "test-bundles");
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, `ms4-entry-${process.pid}.ts`);
    writeFileSync(
      entry,
      `import { main } from ${JSON.stringify(join(ROOT, "lib", "cli", "main"))};\n` +
        "main(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n",
    );
    const outfile = join(dir, `ms4-${process.pid}.mjs`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "warning",
    });
    rmSync(entry);
    process.once("exit", () => rmSync(outfile, { force: true }));
    return outfile;
  })();
  return bundled;
}

export async function startServe(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const bundle = await cliBundle();
  const child = spawn(process.execPath, [bundle, "serve", "--port", "0", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/\S+) /.exec(out);
      if (match) {
        child.stdout!.off("data", onData);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    void exited.then((code) => reject(new Error(`ms4 serve exited with ${code} before listening:\n${err}`)));
  });
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(ms = 10_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
