/**
 * Images through a whole model (the tiny checkpoint): a request with an image gives exactly the logits of its tokens
 * fed with the image's features through the input-embedding seam; prefix caching never shares blocks between
 * different images and reuses them for the same image; preemption recomputes them; image inputs in every form; a
 * checkpoint without a vision tower renders images but refuses to generate from them; http(s) images only under a
 * fetch policy; abort while images are encoded.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ContentPart } from "../../lib/chat/types";
import type { EngineEvent, RequestHandle } from "../../lib/engine/engine";
import { type InputEmbeddingSpan, inputEmbeddingSpan } from "../../lib/engine/input-embeddings";
import { ImageError, UnsupportedFeatureError } from "../../lib/errors";
import type { GenerateRequest } from "../../lib/generation/types";
import { Model } from "../../lib/model/model";
import { makeTiny } from "../../lib/tiny/make-tiny";
import { dataUrl, encodeImage, testImage } from "../helpers/test-images";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";
import { poolIsFree } from "../serving/serving-helpers";

let checkpoints: TinyCheckpoints;
let dir: string;
let model: Model;
const models: Model[] = [];
let cat: Buffer; // 120 × 90: 5 × 4 tokens
let dog: Buffer; // same size, other pixels

beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-vision-model-");
  dir = await checkpoints.get({ layout: "native", quant: "nvfp4", seed: 5 });
  model = await load({});
  cat = await encodeImage(testImage(120, 90, 4, 1), "png");
  dog = await encodeImage(testImage(120, 90, 4, 2), "png");
});

afterAll(async () => {
  await Promise.all(models.map((m) => m.dispose()));
  await checkpoints.cleanup();
});

async function load(options: Parameters<typeof Model.load>[1]): Promise<Model> {
  const m = await Model.load(dir, { threads: 2, maxContext: 1024, kvCacheMemory: 4 << 20, ...options });
  models.push(m);
  return m;
}

function ask(text: string, ...images: ContentPart[]): GenerateRequest["messages"] & object {
  return [{ role: "user", content: [{ type: "text", text }, ...images] }];
}

async function collect(handle: RequestHandle): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const ev of handle) events.push(ev);
  return events;
}

/** The [IMG] rows of each image as spans, built from embedImages' output and the rendered placements. */
function spansByHand(
  placements: readonly { tokenOffset: number; columns: number; rows: number }[],
  embeddings: readonly Float32Array[],
  width: number,
): InputEmbeddingSpan[] {
  return placements.flatMap((p, i) =>
    Array.from({ length: p.rows }, (_, r) =>
      inputEmbeddingSpan(
        p.tokenOffset + r * (p.columns + 1),
        embeddings[i]!.subarray(r * p.columns * width, (r + 1) * p.columns * width),
        width,
      ),
    ),
  );
}

describe("features reach the [IMG] positions", () => {
  test("a chat with images gives the logits of its tokens fed with embedImages' features through the seam", async () => {
    const messages = ask(
      "compare",
      { type: "image", image: cat },
      { type: "image_url", image_url: { url: dataUrl(dog) } },
    );
    const rendered = model.renderChat({ messages });
    expect(rendered.images.map((p) => [p.columns, p.rows])).toEqual([
      [5, 4],
      [5, 4],
    ]);
    const embedded = await model.embedImages([cat, dog]);
    for (const [i, p] of rendered.images.entries()) {
      expect(rendered.tokens.slice(p.tokenOffset, p.tokenOffset + p.tokenCount)).toEqual(embedded[i]!.tokens);
    }
    const viaChat = await model.evaluate({ messages }, { allPositions: true });
    const width = model.config.hiddenSize;
    const spans = spansByHand(
      rendered.images,
      embedded.map((e) => e.embeddings),
      width,
    );
    const events = await collect(
      model.engine.addEvaluate({ tokens: rendered.tokens, allPositions: true, inputEmbeddings: spans }),
    );
    const viaSeam = events.find((e) => e.type === "logits");
    expect(viaSeam?.type === "logits" && viaSeam.logits).toEqual(viaChat);
    // The features matter: the plain token embeddings give other logits from the first [IMG] on.
    const plainEvents = await collect(
      model.engine.addEvaluate({ tokens: rendered.tokens, allPositions: true }),
    );
    const plain = plainEvents.find((e) => e.type === "logits");
    const vocab = model.config.vocabSize;
    const first = rendered.images[0]!.tokenOffset;
    const row = (l: Float32Array, t: number) => l.subarray(t * vocab, (t + 1) * vocab);
    expect(plain?.type === "logits" && row(plain.logits, first - 1)).toEqual(row(viaChat, first - 1));
    expect(plain?.type === "logits" && row(plain.logits, first)).not.toEqual(row(viaChat, first));
  });

  test("generate and stream run images; a text-only request is unaffected", async () => {
    const request = {
      messages: ask("what is it?", { type: "image" as const, image: cat }),
      maxTokens: 6,
      temperature: 0,
    };
    const a = await model.generate(request);
    let streamed: string[] | undefined;
    for await (const ev of model.stream(request))
      if (ev.type === "done") streamed = ev.result.tokens.map(String);
    expect(streamed).toEqual(a.tokens.map(String));
    expect(a.usage.promptTokens).toBe(model.renderChat({ messages: request.messages }).tokens.length);
    const text = await model.generate({
      messages: [{ role: "user", content: "hello" }],
      maxTokens: 4,
      temperature: 0,
    });
    expect(text.finishReason).not.toBe("abort");
  });
});

describe("prefix caching and preemption with images", () => {
  test("two different images never share blocks; the same image reuses them", async () => {
    const cached = await load({ kvBlockSize: 8 });
    const req = (image: Buffer) => ({
      messages: ask("describe the picture in detail", { type: "image" as const, image }),
      maxTokens: 4,
      temperature: 0,
    });
    const imageStart = cached.renderChat({ messages: req(cat).messages }).images[0]!.tokenOffset;
    const first = await cached.generate(req(cat));
    expect(first.usage.cachedPromptTokens).toBe(0);
    const other = await cached.generate(req(dog));
    // Only whole blocks before the first [IMG] may come from the cache.
    expect(other.usage.cachedPromptTokens).toBeLessThanOrEqual(Math.floor(imageStart / 8) * 8);
    const again = await cached.generate(req(cat));
    expect(again.usage.cachedPromptTokens).toBeGreaterThan(imageStart);
    expect(again.tokens).toEqual(first.tokens);
    const fresh = await load({ kvBlockSize: 8, prefixCaching: false });
    expect((await fresh.generate(req(dog))).tokens).toEqual(other.tokens);
    expect(poolIsFree(cached)).toBe(true);
  });

  test("requests with images give the same tokens with chunked prefill and under heavy preemption", async () => {
    const images = [cat, dog, await encodeImage(testImage(60, 200, 3, 9), "jpeg")];
    const requests = Array.from({ length: 6 }, (_, k) => ({
      messages: ask(`question ${k}`, { type: "image" as const, image: images[k % 3]! }),
      maxTokens: 8,
      temperature: 0,
    }));
    const want = await Promise.all(requests.map((r) => model.generate(r)));
    const bytesPerBlock = model.kv.bytesPerToken * 8;
    const small = await load({
      maxBatchSize: 6,
      kvBlockSize: 8,
      kvCacheMemory: 10 * bytesPerBlock,
      maxTokensPerStep: 16,
    });
    const got = await Promise.all(requests.map((r) => small.generate(r)));
    expect(got.map((r) => r.tokens)).toEqual(want.map((r) => r.tokens));
    expect(small.stats().preemptions).toBeGreaterThan(0);
    expect(poolIsFree(small)).toBe(true);
  });
});

describe("image inputs and refusals", () => {
  test("an image part given only by its size can be rendered but not seen", async () => {
    const messages = ask("x", { type: "image", width: 56, height: 56 });
    expect(model.renderChat({ messages }).images).toHaveLength(1);
    const e = await model.generate({ messages, maxTokens: 1 }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(ImageError);
    expect(e).toMatchObject({ reason: "no_pixels", messageIndex: 0, partIndex: 1 });
  });

  test("a checkpoint without a vision tower lays images out but refuses to generate from them", async () => {
    const textOnly = join(checkpoints.root, "text-only");
    await makeTiny(textOnly, { layout: "hf", quant: "bf16", seed: 5, vision: false });
    const m = await Model.load(textOnly, { threads: 2, maxContext: 512 });
    models.push(m);
    expect(m.hasVision).toBe(false);
    const messages = ask("x", { type: "image", image: cat });
    expect(m.renderChat({ messages }).images).toHaveLength(1);
    const e = await m.generate({ messages, maxTokens: 1 }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(UnsupportedFeatureError);
    expect(e).toMatchObject({ feature: "vision" });
    await expect(m.embedImages([cat])).rejects.toBeInstanceOf(UnsupportedFeatureError);
    await expect(m.evaluate({ messages })).rejects.toBeInstanceOf(UnsupportedFeatureError);
  });

  test("a request aborted before its images are encoded ends with finishReason abort", async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await model.generate({
      messages: ask("x", { type: "image", image: cat }),
      maxTokens: 3,
      signal: controller.signal,
    });
    expect(r.finishReason).toBe("abort");
  });
});

describe("http(s) images", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_, res) => {
      res.writeHead(200, { "content-type": "image/png" });
      res.end(cat);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cat.png`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("are fetched under the imageFetch policy and refused without one", async () => {
    const messages = ask("x", { type: "image_url", image_url: { url } });
    const e = await model.generate({ messages, maxTokens: 1 }).catch((error: unknown) => error);
    expect(e).toMatchObject({ reason: "not_allowed", messageIndex: 0, partIndex: 1 });
    const fetching = await load({ imageFetch: { maxBytes: 1 << 20, timeoutMs: 5000 } });
    const viaUrl = await fetching.evaluate({ messages });
    const viaBytes = await fetching.evaluate({ messages: ask("x", { type: "image", image: cat }) });
    expect(viaUrl).toEqual(viaBytes);
    const [embedded] = await fetching.embedImages([{ type: "image_url", image_url: { url } }]);
    expect(embedded!.embeddings).toEqual((await fetching.embedImages([cat]))[0]!.embeddings);
    const tight = await load({ imageFetch: { maxBytes: 100 } });
    await expect(tight.generate({ messages, maxTokens: 1 })).rejects.toMatchObject({ reason: "fetch" });
  });
});
