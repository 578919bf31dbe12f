/**
 * The http(s) image fetch policy against a local server: content type, byte limit (declared and streamed), time
 * limit, redirect limit, redirects to other schemes, HTTP errors. Fetching is off unless a policy is given.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageError, InvalidArgumentError } from "../../lib/errors";
import { fetchImageBytes, resolveImageFetchPolicy } from "../../lib/image/fetch";
import { loadImage } from "../../lib/image/sources";

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73", "hex");
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const hops = Number(url.searchParams.get("hops") ?? 0);
    switch (url.pathname) {
      case "/a.png":
        res.writeHead(200, { "content-type": "image/png", "content-length": PNG.length });
        res.end(PNG);
        return;
      case "/text":
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html>");
        return;
      case "/big":
        res.writeHead(200, { "content-type": "image/png", "content-length": 5000 });
        res.end(Buffer.alloc(5000));
        return;
      case "/chunked-big": // no content-length: the limit is enforced while reading
        res.writeHead(200, { "content-type": "image/png" });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
        res.end();
        return;
      case "/slow":
        res.writeHead(200, { "content-type": "image/png" });
        res.write(PNG.subarray(0, 8));
        setTimeout(() => res.end(PNG.subarray(8)), 2000);
        return;
      case "/redirect":
        res.writeHead(302, { location: hops > 1 ? `/redirect?hops=${hops - 1}` : "/a.png" });
        res.end();
        return;
      case "/to-file":
        res.writeHead(301, { location: "file:///etc/passwd" });
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function fetchError(url: string, policy = {}): Promise<ImageError> {
  const e = await fetchImageBytes(url, policy).catch((error: unknown) => error);
  expect(e).toBeInstanceOf(ImageError);
  return e as ImageError;
}

describe("fetchImageBytes", () => {
  it("returns the body of an image response", async () => {
    expect(Buffer.from(await fetchImageBytes(`${base}/a.png`))).toEqual(PNG);
  });

  it("follows redirects up to the limit and no further", async () => {
    expect(Buffer.from(await fetchImageBytes(`${base}/redirect?hops=3`, { maxRedirects: 3 }))).toEqual(PNG);
    expect((await fetchError(`${base}/redirect?hops=3`, { maxRedirects: 2 })).message).toMatch(
      /more than 2 redirect/,
    );
    expect((await fetchError(`${base}/redirect`, { maxRedirects: 0 })).message).toMatch(
      /more than 0 redirect/,
    );
  });

  it("refuses a redirect to another scheme", async () => {
    expect((await fetchError(`${base}/to-file`)).reason).toBe("not_allowed");
  });

  it("checks the content type", async () => {
    expect((await fetchError(`${base}/text`)).message).toMatch(/content type "text\/html"/);
    expect(
      Buffer.from(await fetchImageBytes(`${base}/text`, { contentTypes: ["text/html"] })).toString(),
    ).toBe("<html>");
  });

  it("enforces the byte limit from Content-Length and while reading", async () => {
    expect((await fetchError(`${base}/big`, { maxBytes: 1000 })).message).toMatch(
      /5000 bytes exceed the limit of 1000/,
    );
    expect((await fetchError(`${base}/chunked-big`, { maxBytes: 4000 })).message).toMatch(
      /exceeds the limit of 4000/,
    );
  });

  it("enforces the time limit", async () => {
    expect((await fetchError(`${base}/slow`, { timeoutMs: 200 })).message).toMatch(/within 200 ms/);
  });

  it("reports HTTP errors and refuses unknown policy keys", async () => {
    expect((await fetchError(`${base}/missing`)).message).toMatch(/HTTP status 404/);
    expect(() => resolveImageFetchPolicy({ maxbytes: 3 } as never)).toThrow(InvalidArgumentError);
    expect(() => resolveImageFetchPolicy({ timeoutMs: 0 })).toThrow(InvalidArgumentError);
  });

  it("is off unless a policy is given: http(s) URLs are ImageErrors when loading", () => {
    expect(() => loadImage({ kind: "url", url: `${base}/a.png` })).toThrow(/fetched only by generate/);
  });
});
