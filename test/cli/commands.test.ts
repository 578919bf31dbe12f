/**
 * The CLI's user-facing polish: --help on every command, readable `info` and `bench` output with --json for
 * scripts, load progress (a redrawn bar on a terminal, plain lines in logs), and the interactive chat's
 * commands and history.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { ChatSession, runChat } from "../../lib/cli/chat";
import { formatBenchResult } from "../../lib/cli/commands/bench";
import { LoadProgressReporter } from "../../lib/cli/progress";
import { Model } from "../../lib/model/model";
import { makeTempDir } from "../helpers/temp-dir";
import { makePng } from "../server/helpers/png";
import { runCli } from "./run-cli";

const tmp = makeTempDir();
afterAll(() => tmp.cleanup());

const run = runCli;

describe("help", () => {
  test.each(["chat", "serve", "bench", "inspect", "make-tiny", "info"])(
    "ms4 %s --help prints its usage and exits 0",
    async (command) => {
      const r = await run([command, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: ms4 ${command}`));
      expect(r.out).toMatch(/Options:|--json/);
      expect((await run(["help", command])).out).toBe(r.out);
    },
  );

  test("the overview lists every command; an unknown flag prints that command's usage and exits 2", async () => {
    const overview = await run(["--help"]);
    expect(overview.code).toBe(0);
    for (const command of ["chat", "serve", "bench", "inspect", "make-tiny", "info"])
      expect(overview.out).toContain(`  ${command} `);
    const bad = await run(["serve", "--prot", "80"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Unknown option '--prot'/);
    expect(bad.err).toMatch(/Usage: ms4 serve/);
    const badValue = await run(["serve", "--max-body-size", "lots"]);
    expect(badValue.code).toBe(2);
    expect(badValue.err).toMatch(/--max-body-size expects a size in bytes/);
  });
});

describe("info and bench", () => {
  test("ms4 info is a readable table; --json is the raw report", async () => {
    const text = await run(["info"]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^CPU cores \(logical\)\s+\d+$/m);
    expect(text.out).toMatch(/^CPU kernel paths\s+portable/m);
    const json = JSON.parse((await run(["info", "--json"])).out) as { cpu: { kernelPaths: string[] } };
    expect(json.cpu.kernelPaths).toContain("portable");
  });

  test("ms4 bench prints a table (progress on stderr); --json prints the numbers", async () => {
    const table = await run(["bench", "--prompt", "8", "--generate", "4"]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^decode\s+[\d,.]+ tokens\/s {2}\(4 tokens in/m);
    expect(table.out).toMatch(/^prefill\s+[\d,.]+ tokens\/s {2}\(8 tokens in/m);
    expect(table.err).toMatch(/repacking weights/);
    expect(table.err).toMatch(/loaded the built-in tiny model in/);
    const json = JSON.parse(
      (await run(["bench", "--prompt", "8", "--generate", "4", "--json"])).out,
    ) as Record<string, number>;
    expect(json.generateTokens).toBe(4);
    expect(json.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  test("formatBenchResult says what each number is", () => {
    const text = formatBenchResult({
      model: "/m",
      kernelPath: "cpu-avx2",
      nvfp4Activations: "int16",
      threads: 2,
      promptTokens: 128,
      generateTokens: 32,
      prefillSeconds: 1.2,
      prefillTokensPerSecond: 106.7,
      decodeSeconds: 1.8,
      decodeTokensPerSecond: 17.8,
      decodeWeightBytesPerToken: 1.33e9,
      decodeKvBytesPerToken: 2 ** 20,
      decodeGigabytesPerSecond: 23.7,
      memoryBandwidthGBps: 31.2,
      memoryBandwidthBeforeAfterGBps: [31.2, 30.1],
      decodeFractionOfBound: 0.76,
      weightBytes: 5.9e9,
      peakRssBytes: 7.1e9,
      loadSeconds: 4.2,
    });
    expect(text).toContain("cpu-avx2, NVFP4 × int16 activations, 2 threads");
    expect(text).toMatch(/^decode\s+17\.8 tokens\/s {2}\(32 tokens in 1\.8 s\)$/m);
    expect(text).toMatch(/^decode bandwidth\s+23\.7 GB\/s of 31\.2 GB\/s measured \(76 % of the bound\)$/m);
    expect(text).toMatch(/^read per decode token\s+1\.24 GiB weights \+ 1\.00 MiB KV$/m);
  });
});

describe("load progress", () => {
  function output(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, out: { isTTY, write: (t: string) => writes.push(t) } };
  }

  test("on a terminal: one line redrawn in place with a bar, bytes and an ETA", () => {
    let now = 0;
    const { writes, out } = output(true);
    const reporter = new LoadProgressReporter(out, 4 * 2 ** 30, () => now);
    reporter.onProgress({ phase: "plan", done: 10, total: 10 });
    now = 1000;
    reporter.onProgress({ phase: "repack", done: 0, total: 100 });
    now = 3000;
    reporter.onProgress({ phase: "repack", done: 25, total: 100 });
    now = 3050; // redraws at most every 100 ms
    reporter.onProgress({ phase: "repack", done: 26, total: 100 });
    expect(writes.at(-1)).toBe(
      "\r" + "repacking weights  [######------------------]   25%  1.00 GiB / 4.00 GiB  ETA 6.0 s" + "\x1b[K",
    );
    expect(writes.every((w) => w.startsWith("\r"))).toBe(true);
    now = 9000;
    reporter.onProgress({ phase: "repack", done: 100, total: 100 });
    reporter.done("/models/ms4");
    expect(writes.at(-1)).toBe("\r\x1b[Kloaded /models/ms4 in 9.0 s\n");
  });

  test("in a log: a plain line when a phase starts and at each quarter", () => {
    const { writes, out } = output(false);
    const reporter = new LoadProgressReporter(out, 0, () => 0);
    for (let done = 1; done <= 100; done++) reporter.onProgress({ phase: "repack", done, total: 100 });
    expect(writes).toEqual([
      "repacking weights    1%\n",
      "repacking weights   25%\n",
      "repacking weights   50%\n",
      "repacking weights   75%\n",
      "repacking weights  100%\n",
    ]);
  });
});

describe("interactive chat", () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load();
  });
  afterAll(async () => {
    await model?.dispose();
  });

  test("/reset, /system and /image change the conversation; unknown commands are named", () => {
    const session = new ChatSession("Be brief.");
    expect(session.turn("Hi")).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    session.history.push({ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" });
    expect(session.command("/reset")).toMatch(/cleared/);
    expect(session.history).toEqual([]);
    expect(session.command("/system You are a pirate.")).toMatch(/system prompt set/);
    expect(session.system).toBe("You are a pirate.");
    const png = join(tmp.dir, "cat.png");
    writeFileSync(png, makePng(8, 8));
    expect(session.command(`/image ${png}`)).toMatch(/image attached/);
    const turn = session.turn("What is this?");
    expect(turn.at(-1)).toEqual({
      role: "user",
      content: [
        {
          type: "image_url",
          image_url: { url: `data:image/png;base64,${makePng(8, 8).toString("base64")}` },
        },
        { type: "text", text: "What is this?" },
      ],
    });
    expect(session.command("/image /nope.png")).toMatch(/cannot read/);
    expect(session.command("/image notes.txt")).toMatch(/not an image file/);
    expect(session.command("/frobnicate")).toMatch(/unknown command \/frobnicate/);
    expect(session.command("/exit")).toBe("exit");
  });

  test("a conversation keeps its history; an image the model cannot take is an error line, and the chat goes on", async () => {
    const png = join(tmp.dir, "photo.png");
    writeFileSync(png, makePng(16, 16).subarray(0, 40)); // truncated: the library refuses it with an ImageError
    const input = new PassThrough();
    const output = new PassThrough();
    const errors = new PassThrough();
    let out = "";
    let err = "";
    output.on("data", (d) => {
      out += d;
    });
    errors.on("data", (d) => {
      err += d;
    });
    const seen: number[] = [];
    const stream = model.stream.bind(model);
    const spy = vi.spyOn(model, "stream").mockImplementation((request) => {
      seen.push(request.messages?.length ?? 0);
      return stream(request);
    });
    input.end(`Bonjour\nEncore\n/image ${png}\nWhat is it?\nAfter the image\n/exit\n`);
    await runChat(model, undefined, { maxTokens: 4, temperature: 0 }, undefined, {
      input,
      output,
      errors,
      color: false,
    });
    spy.mockRestore();
    // user, then user + assistant + user, then the image turn, then the turn after it (the failed one left no trace)
    expect(seen).toEqual([1, 3, 5, 5]);
    expect(out).toMatch(/\(image attached to your next message/);
    expect(err).toMatch(/^error: .*image/m);
  });
});
