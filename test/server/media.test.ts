/**
 * Image URLs in chat requests: data: URLs pass through untouched; http(s) URLs are fetched within the byte,
 * time and redirect limits and the allowed hosts, and become data: URLs; every other scheme and every failed
 * fetch is a 400 naming the message part. A local HTTP server plays the image hosts.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import type { Model } from "../../lib/model/model";
import type { HttpError } from "../../lib/server/errors";
import type { MediaLimits } from "../../lib/server/media/fetch-image";
import { imageUrlForLibrary } from "../../lib/server/media/image-urls";
import { type ImageServer, startImageServer } from "./helpers/image-server";
import { loadTinyModel, postJson, startTestServer } from "./helpers/in-process";
import { VISION_AVAILABLE } from "./helpers/vision";

let images: ImageServer;
beforeAll(async () => {
  images = await startImageServer();
});
afterAll(async () => {
  await images?.close();
});

const LIMITS: MediaLimits = {
  remote: true,
  allowedDomains: [],
  maxBytes: 1 << 20,
  timeoutMs: 1000,
  maxRedirects: 3,
  maxImages: 10,
};
const PARAM = "messages[0].content[1].image_url";

function resolveUrl(url: string, limits: Partial<MediaLimits> = {}, signal = new AbortController().signal) {
  return imageUrlForLibrary(url, { ...LIMITS, ...limits }, PARAM, signal);
}

async function expectRefused(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as HttpError;
  expect(error?.name).toBe("HttpError");
  expect(error.status).toBe(400);
  expect(error.param).toBe(PARAM);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe("image URLs", () => {
  test("a data: URL is passed on as it is, without a fetch", async () => {
    const url = "data:image/png;base64,iVBORw0KGgo=";
    const before = images.hits.length;
    expect(await resolveUrl(url)).toBe(url);
    expect(images.hits.length).toBe(before);
  });

  test("an http URL is fetched and becomes a data: URL of the same bytes and type", async () => {
    const url = await resolveUrl(`${images.url}/image.png`);
    expect(url).toBe(`data:image/png;base64,${images.png.toString("base64")}`);
  });

  test("redirects are followed up to the limit, and each hop's host is checked", async () => {
    expect(await resolveUrl(`${images.url}/redirect/3`)).toMatch(/^data:image\/png;base64,/);
    await expectRefused(
      resolveUrl(`${images.url}/redirect/4`),
      "media_fetch_failed",
      /more than 3 redirects/,
    );
    await expectRefused(
      resolveUrl(`${images.url}/redirect/1`, { maxRedirects: 0 }),
      "media_fetch_failed",
      /redirects/,
    );
    // 127.0.0.1 is allowed, the redirect target "localhost" is not.
    await expectRefused(
      resolveUrl(`${images.url}/redirect-elsewhere`, { allowedDomains: ["127.0.0.1"] }),
      "media_domain_not_allowed",
      /localhost is not allowed/,
    );
  });

  test("hosts outside --allowed-media-domains and every remote URL under --no-remote-media are refused unfetched", async () => {
    const before = images.hits.length;
    await expectRefused(
      resolveUrl(`${images.url}/image.png`, { allowedDomains: ["images.example.com"] }),
      "media_domain_not_allowed",
      /127\.0\.0\.1/,
    );
    await expectRefused(
      resolveUrl(`${images.url}/image.png`, { remote: false }),
      "remote_media_disabled",
      /data: URL/,
    );
    expect(images.hits.length).toBe(before);
    expect(await resolveUrl(`${images.url}/image.png`, { allowedDomains: ["127.0.0.1"] })).toMatch(/^data:/);
  });

  test("too large (declared or streamed), too slow, not an image, not found: each a 400 saying why", async () => {
    await expectRefused(
      resolveUrl(`${images.url}/big-declared`),
      "media_too_large",
      /larger than the server's limit of 1048576 bytes/,
    );
    await expectRefused(resolveUrl(`${images.url}/big-chunked`), "media_too_large", /larger than/);
    await expectRefused(
      resolveUrl(`${images.url}/slow`, { timeoutMs: 200 }),
      "media_fetch_failed",
      /longer than 200 ms/,
    );
    await expectRefused(
      resolveUrl(`${images.url}/page.html`),
      "media_fetch_failed",
      /did not return an image \(Content-Type "text\/html"\)/,
    );
    await expectRefused(resolveUrl(`${images.url}/missing.png`), "media_fetch_failed", /HTTP 404/);
    await expectRefused(resolveUrl("http://127.0.0.1:1/image.png"), "media_fetch_failed", /failed/);
  });

  test("file paths and other schemes are refused: a client cannot make the server read its files", async () => {
    await expectRefused(resolveUrl("file:///etc/passwd"), "invalid_media_url", /not file:/);
    await expectRefused(resolveUrl("/etc/passwd"), "invalid_media_url", /data:, http: or https:/);
    await expectRefused(resolveUrl("ftp://example.com/a.png"), "invalid_media_url", /not ftp:/);
  });

  test("the request's own abort (a client gone) stops a fetch", async () => {
    const controller = new AbortController();
    const pending = resolveUrl(`${images.url}/slow`, { timeoutMs: 5000 }, controller.signal);
    setTimeout(() => controller.abort(new Error("client gone")), 50);
    await expect(pending).rejects.toThrow("client gone");
  });
});

describe("image URLs through the server", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadTinyModel();
  });
  afterAll(async () => {
    await model?.dispose();
  });

  const withImage = (url: string) => ({
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url } },
        ],
      },
    ],
    max_tokens: 4,
  });

  test("--no-remote-media and --allowed-media-domains give 400s on the image part before anything is fetched", async () => {
    const closed = await startTestServer(model, { media: { remote: false } });
    const picky = await startTestServer(model, { media: { allowedDomains: ["images.example.com"] } });
    try {
      const before = images.hits.length;
      const a = await postJson(`${closed.url}/v1/chat/completions`, withImage(`${images.url}/image.png`));
      expect(a.status).toBe(400);
      expect(a.body.error).toMatchObject({
        param: PARAM.replace("content[1]", "content[1]"),
        code: "remote_media_disabled",
      });
      const b = await postJson(`${picky.url}/v1/chat/completions`, withImage(`${images.url}/image.png`));
      expect(b.status).toBe(400);
      expect(b.body.error.code).toBe("media_domain_not_allowed");
      expect(images.hits.length).toBe(before);
    } finally {
      await Promise.all([closed.close(), picky.close()]);
    }
  });

  test("more image parts than --max-images is a 400 before anything is fetched", async () => {
    const server = await startTestServer(model, { media: { maxImages: 2 } });
    try {
      const before = images.hits.length;
      const part = { type: "image_url", image_url: { url: `${images.url}/image.png` } };
      const r = await postJson(`${server.url}/v1/chat/completions`, {
        messages: [{ role: "user", content: [part, part, part, { type: "text", text: "Compare" }] }],
        max_tokens: 2,
      });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ param: "messages", code: "too_many_images" });
      expect(images.hits.length).toBe(before);
    } finally {
      await server.close();
    }
  });

  test("a fetched image reaches the library as a data: URL of its bytes and is answered", async () => {
    const server = await startTestServer(model);
    const seen: unknown[] = [];
    const stream = model.stream.bind(model);
    const spy = vi.spyOn(model, "stream").mockImplementation((request) => {
      seen.push(request.messages);
      return stream(request);
    });
    try {
      const r = await postJson(`${server.url}/v1/chat/completions`, withImage(`${images.url}/image.png`));
      expect(seen).toEqual([
        [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              {
                type: "image_url",
                image_url: { url: `data:image/png;base64,${images.png.toString("base64")}` },
              },
            ],
          },
        ],
      ]);
      if (VISION_AVAILABLE) {
        expect(r.status).toBe(200);
        return;
      }
      expect(r.status).toBe(400);
      expect(r.body.error.type).toBe("invalid_request_error");
      expect(r.body.error.message).toMatch(/image/);
    } finally {
      spy.mockRestore();
      await server.close();
    }
  });
});
