/**
 * The OpenAI server under load: requests/s and time to first token with 1, 8 and 32 concurrent streaming
 * clients, and the server's cost per generated token compared with calling `model.stream()` directly.
 *
 *   node bench/run-ts.mjs bench/server/server-bench.ts [--model DIR] [--concurrency 1,8,32]
 *     [--requests N] [--tokens N] [--overhead-tokens N] [--repeats N] [--threads N] [--json]
 *
 * The server runs in this process (createServer on a free port); the clients run in a worker thread, so
 * their SSE parsing does not share the server's event loop. Each of C clients sends `--requests` streaming
 * chat requests back to back (distinct prompts, `--tokens` tokens each, temperature 1, fixed seeds), and
 * time to first token is measured by the client, from sending the request to the first content delta.
 *
 * Overhead: one greedy stream of `--overhead-tokens` tokens, the same request through HTTP/SSE and through
 * model.stream() in turn, `--repeats` times each. The mean gap between successive deltas is measured where
 * the tokens are produced: by the server (its inter-token latency histogram) and by the direct loop; their
 * medians are compared. The HTTP client is a separate process at the lowest priority that reads without
 * parsing, so its own work weighs as little as it can on a shared machine. Without --model it runs the
 * built-in tiny model, whose steps are so short (~0.25 ms) that any per-token cost shows.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Model } from "../../lib/model/model";
import { createServer } from "../../lib/server";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// run-ts bundles this file next to itself, so the addon's default search (relative to the bundle) misses.
const addon = join(repoRoot, "build", "Release", "mistral4.node");
if (!process.env.MS4_ADDON_PATH && existsSync(addon)) process.env.MS4_ADDON_PATH = addon;

interface Args {
  model: string | undefined;
  concurrency: number[];
  requests: number;
  tokens: number;
  overheadTokens: number;
  repeats: number;
  threads: number | undefined;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    model: undefined,
    concurrency: [1, 8, 32],
    requests: 8,
    tokens: 32,
    overheadTokens: 256,
    repeats: 15,
    threads: undefined,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--json") {
      args.json = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const int = () => {
      const n = Number(value);
      if (!(Number.isSafeInteger(n) && n >= 1))
        throw new Error(`${flag} needs a positive integer, got ${value}`);
      return n;
    };
    if (flag === "--model") args.model = value;
    else if (flag === "--concurrency") args.concurrency = value.split(",").map(Number);
    else if (flag === "--requests") args.requests = int();
    else if (flag === "--tokens") args.tokens = int();
    else if (flag === "--overhead-tokens") args.overheadTokens = int();
    else if (flag === "--repeats") args.repeats = int();
    else if (flag === "--threads") args.threads = int();
    else throw new Error(`unknown flag ${flag}`);
  }
  return args;
}

/** One streamed request as the client saw it (milliseconds from sending it). */
interface ClientTiming {
  readonly firstDelta: number;
  readonly lastDelta: number;
  readonly done: number;
  readonly completionTokens: number;
}

/** The clients: a worker that sends streaming requests and times them. CommonJS source, run with eval. */
const CLIENT_SOURCE = `
const { parentPort } = require("node:worker_threads");
const DELTA = /"delta":{"(content|reasoning_content|tool_calls)"/;
async function one(url, body) {
  const start = performance.now();
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error("HTTP " + response.status + ": " + (await response.text()));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let firstDelta = -1, lastDelta = -1, tokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\\n\\n")) >= 0) {
      const event = buffer.slice(6, end);
      buffer = buffer.slice(end + 2);
      if (event === "[DONE]") continue;
      // Only the usage chunk is parsed: the clients share the machine with the server, so they do as little
      // as they can per chunk.
      if (event.includes('"usage":{')) tokens = JSON.parse(event).usage.completion_tokens;
      if (DELTA.test(event)) {
        const now = performance.now() - start;
        if (firstDelta < 0) firstDelta = now;
        lastDelta = now;
      }
    }
  }
  return { firstDelta, lastDelta, done: performance.now() - start, completionTokens: tokens };
}
parentPort.on("message", async (job) => {
  try {
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: job.clients }, async (_, c) => {
      const out = [];
      for (let r = 0; r < job.requests; r++) out.push(await one(job.url, job.bodies[c * job.requests + r]));
      return out;
    }));
    parentPort.postMessage({ wall: performance.now() - started, timings: results.flat() });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.stack || error) });
  }
});
`;

class Clients {
  private readonly worker = new Worker(CLIENT_SOURCE, { eval: true });

  run(job: {
    url: string;
    clients: number;
    requests: number;
    bodies: unknown[];
  }): Promise<{ wall: number; timings: ClientTiming[] }> {
    return new Promise((resolve, reject) => {
      this.worker.once("message", (m: { wall: number; timings: ClientTiming[]; error?: string }) =>
        m.error ? reject(new Error(m.error)) : resolve(m),
      );
      this.worker.postMessage(job);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** Mean time between successive stream events of one direct model.stream() (ms), and its token count. */
async function directEventGaps(
  model: Model,
  request: Parameters<Model["stream"]>[0],
): Promise<{ mean: number; tokens: number }> {
  let last = -1;
  let sum = 0;
  let gaps = 0;
  let tokens = 0;
  for await (const ev of model.stream(request)) {
    if (ev.type === "done") {
      tokens = ev.result.usage.completionTokens;
      continue;
    }
    const now = performance.now();
    if (last >= 0) {
      sum += now - last;
      gaps++;
    }
    last = now;
  }
  return { mean: sum / gaps, tokens };
}

/**
 * CPU time this process has used, all threads (user + system, in ms, from /proc: 10 ms ticks, so it is
 * summed over many streams). Unlike wall time it does not grow when other programs take the cores.
 */
function processCpuMs(): number {
  return statCpuMs("/proc/self/stat");
}

function mainThreadCpuMs(): number {
  return statCpuMs(`/proc/self/task/${process.pid}/stat`);
}

function statCpuMs(path: string): number {
  const fields = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100;

/** Sum (ms) and count of the server's inter-token latency histogram: the gaps between the deltas it wrote. */
function itl(metrics: string): { sum: number; count: number } {
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)![1]);
  return {
    sum: 1000 * value("ms4_inter_token_latency_seconds_sum"),
    count: value("ms4_inter_token_latency_seconds_count"),
  };
}

/**
 * The overhead run's client: a separate process at the lowest priority that reads streams without parsing
 * them, so the server's own cost is what the comparison shows (the gaps are measured by the server). It
 * is started once; each line on its stdin is a request body, each line it prints a finished stream.
 */
class LazyReader {
  private readonly child: ChildProcess;
  private waiting: ((line: string) => void)[] = [];

  constructor(url: string) {
    const source = `
      const http = require("node:http");
      const agent = new http.Agent({ keepAlive: true });
      require("node:readline").createInterface({ input: process.stdin }).on("line", (body) => {
        const req = http.request(process.argv[1], { method: "POST", agent, headers: { "Content-Type": "application/json" } }, (res) => {
          let tail = "";
          res.on("data", (d) => { tail = (tail + d).slice(-32); });
          res.on("end", () => process.stdout.write(tail.endsWith("data: [DONE]\\n\\n") ? "done\\n" : "failed\\n"));
        });
        req.end(body);
      });`;
    this.child = spawn("nice", ["-n", "19", process.execPath, "-e", source, url], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => this.waiting.shift()?.(line));
  }

  async read(body: unknown): Promise<void> {
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin!.write(`${JSON.stringify(body)}\n`);
    });
    if (line !== "done") throw new Error("the stream did not end with [DONE]");
  }

  close(): void {
    this.child.kill();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const model = await Model.load(args.model, {
    maxBatchSize: Math.max(...args.concurrency),
    ...(args.threads !== undefined ? { threads: args.threads } : {}),
  });
  const server = createServer(model, { port: 0, servedModelNames: ["bench"] });
  const { url } = await server.listen();
  const endpoint = `${url}/v1/chat/completions`;
  const clients = new Clients();
  try {
    const load: Record<string, unknown>[] = [];
    for (const c of args.concurrency) {
      const bodies = Array.from({ length: c * args.requests }, (_, i) => ({
        messages: [{ role: "user", content: `Request ${i} of ${c}: tell me a story` }],
        max_tokens: args.tokens,
        temperature: 1,
        seed: i,
        stream: true,
        stream_options: { include_usage: true },
      }));
      await clients.run({ url: endpoint, clients: c, requests: 1, bodies: bodies.slice(0, c) }); // warm-up
      const { wall, timings } = await clients.run({
        url: endpoint,
        clients: c,
        requests: args.requests,
        bodies,
      });
      const ttft = timings.map((t) => t.firstDelta);
      const tokens = timings.reduce((a, t) => a + t.completionTokens, 0);
      load.push({
        concurrency: c,
        requests: timings.length,
        requestsPerSecond: timings.length / (wall / 1000),
        outputTokensPerSecond: tokens / (wall / 1000),
        ttftMsMedian: median(ttft),
        ttftMsP95: quantile(ttft, 0.95),
      });
    }

    const overheadRequest = {
      messages: [{ role: "user" as const, content: "Write a long story about a lighthouse." }],
      max_tokens: args.overheadTokens,
      temperature: 0,
    };
    const http: number[] = [];
    const direct: number[] = [];
    const cpu = { http: 0, direct: 0, mainHttp: 0, mainDirect: 0, httpTokens: 0, directTokens: 0 };
    const reader = new LazyReader(endpoint);
    for (let r = 0; r < args.repeats + 1; r++) {
      const before = itl(server.handler.metricsText());
      const cpuBefore = processCpuMs();
      const mainBefore = mainThreadCpuMs();
      await reader.read({ ...overheadRequest, stream: true });
      const cpuBetween = processCpuMs();
      const mainBetween = mainThreadCpuMs();
      const after = itl(server.handler.metricsText());
      const viaDirect = await directEventGaps(model, {
        messages: overheadRequest.messages,
        maxTokens: args.overheadTokens,
        temperature: 0,
      });
      const cpuAfter = processCpuMs();
      const mainAfter = mainThreadCpuMs();
      if (r === 0) continue; // warm-up
      http.push((after.sum - before.sum) / (after.count - before.count));
      direct.push(viaDirect.mean);
      cpu.http += cpuBetween - cpuBefore;
      cpu.direct += cpuAfter - cpuBetween;
      cpu.mainHttp += mainBetween - mainBefore;
      cpu.mainDirect += mainAfter - mainBetween;
      cpu.httpTokens += viaDirect.tokens; // the same greedy request: the same tokens
      cpu.directTokens += viaDirect.tokens;
    }
    reader.close();
    const overhead = {
      tokens: cpu.directTokens / args.repeats,
      repeats: args.repeats,
      directMsPerToken: median(direct),
      httpMsPerToken: median(http),
      overheadPercent: 100 * (median(http) / median(direct) - 1),
      directCpuMsPerToken: cpu.direct / cpu.directTokens,
      httpCpuMsPerToken: cpu.http / cpu.httpTokens,
      cpuOverheadPercent: 100 * (cpu.http / cpu.httpTokens / (cpu.direct / cpu.directTokens) - 1),
      directMainThreadCpuMsPerToken: cpu.mainDirect / cpu.directTokens,
      httpMainThreadCpuMsPerToken: cpu.mainHttp / cpu.httpTokens,
      /** The JS thread's extra CPU per token as a share of the direct path's time per token. */
      mainThreadOverheadPercent:
        (100 * (cpu.mainHttp / cpu.httpTokens - cpu.mainDirect / cpu.directTokens)) / median(direct),
    };
    const result = { model: model.dir, kernelPath: model.kernelPath, load, overhead };
    if (args.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`model ${model.dir} (${model.kernelPath})\n`);
      console.log(
        "| concurrent streams | requests | requests/s | output tokens/s | TTFT median ms | TTFT p95 ms |",
      );
      console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
      for (const l of load as { [k: string]: number }[]) {
        console.log(
          `| ${l.concurrency} | ${l.requests} | ${l.requestsPerSecond!.toFixed(1)} | ${l.outputTokensPerSecond!.toFixed(0)} | ${l.ttftMsMedian!.toFixed(1)} | ${l.ttftMsP95!.toFixed(1)} |`,
        );
      }
      console.log(
        `\n${overhead.tokens} tokens per stream, ${overhead.repeats} streams each way\n` +
          `time between deltas (median): model.stream() ${overhead.directMsPerToken.toFixed(3)} ms, HTTP/SSE ${overhead.httpMsPerToken.toFixed(3)} ms: ` +
          `${overhead.overheadPercent.toFixed(1)} % more\n` +
          `CPU time per token (this process, all threads): model.stream() ${overhead.directCpuMsPerToken.toFixed(3)} ms, ` +
          `HTTP/SSE ${overhead.httpCpuMsPerToken.toFixed(3)} ms: ${overhead.cpuOverheadPercent.toFixed(1)} % more\n` +
          `  of which the JS thread: model.stream() ${overhead.directMainThreadCpuMsPerToken.toFixed(3)} ms, HTTP/SSE ${overhead.httpMainThreadCpuMsPerToken.toFixed(3)} ms ` +
          `(the difference is ${overhead.mainThreadOverheadPercent.toFixed(1)} % of the direct time per token)`,
      );
    }
  } finally {
    await clients.close();
    await server.close({ graceMs: 0 });
    await model.dispose();
  }
}

await main();
