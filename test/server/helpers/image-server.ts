/**
 * A local HTTP server standing in for the image hosts of the model card's examples, plus the awkward cases
 * the media fetcher must handle: redirects (one, a chain, to another host), a slow response, a body larger
 * than it says or with no length, a non-image, a 404.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { makePng } from "./png";

export interface ImageServer {
  /** e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly png: Buffer;
  /** Requests seen, by path. */
  readonly hits: string[];
  close(): Promise<void>;
}

export async function startImageServer(): Promise<ImageServer> {
  const png = makePng(64, 48);
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    hits.push(url.pathname);
    const hops = /^\/redirect\/(\d+)$/.exec(url.pathname);
    if (hops) {
      const left = Number(hops[1]);
      res.writeHead(302, { Location: left <= 1 ? "/image.png" : `/redirect/${left - 1}` }).end();
      return;
    }
    switch (url.pathname) {
      case "/image.png":
      case "/europe.png":
      case "/Battle.png/revision/latest":
        res.writeHead(200, { "Content-Type": "image/png", "Content-Length": png.length }).end(png);
        return;
      case "/redirect-elsewhere":
        // Same server under another name: "localhost" instead of 127.0.0.1.
        res
          .writeHead(302, {
            Location: `http://localhost:${(server.address() as AddressInfo).port}/image.png`,
          })
          .end();
        return;
      case "/big-declared":
        res.writeHead(200, { "Content-Type": "image/png", "Content-Length": 50_000_000 }).end();
        return;
      case "/big-chunked": {
        res.writeHead(200, { "Content-Type": "image/png" });
        const block = Buffer.alloc(64 * 1024, 1);
        let sent = 0;
        const pump = () => {
          while (sent < 64 && res.write(block)) sent++;
          if (sent >= 64) res.end();
          else res.once("drain", pump);
        };
        res.on("close", () => {
          sent = 64;
        });
        pump();
        return;
      }
      case "/slow":
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(200, { "Content-Type": "image/png" }).end(png);
        }, 3000).unref();
        return;
      case "/page.html":
        res.writeHead(200, { "Content-Type": "text/html" }).end("<html></html>");
        return;
      default:
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    png,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
