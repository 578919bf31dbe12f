import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { roundHalfEven } from "../../lib/chat/image-tokens";
import { imageTokenGrid } from "../../lib/chat/index";
import type { ContentPart } from "../../lib/chat/types";
import { ChatFormatError, ImageError, InvalidArgumentError } from "../../lib/errors";
import { MS4_IMAGE_CONFIG } from "../helpers/byte-tokenizer";
import { dataUrl } from "../helpers/test-images";
import { expectGolden, NONE_SETTINGS, render } from "./golden";

/** The `[IMG]` run of a columns × rows grid, written out by hand. */
function imageRun(columns: number, rows: number): string {
  const run = `${"[IMG]".repeat(columns)}[IMG_BREAK]`.repeat(rows);
  return `${run.slice(0, -"[IMG_BREAK]".length)}[IMG_END]`;
}

function renderImage(width: number, height: number, text = "x"): string {
  const content: ContentPart[] = [
    { type: "text", text },
    { type: "image", width, height },
  ];
  return render({ messages: [{ role: "user", content }] }).text;
}

describe("image token grid", () => {
  it.each([
    [28, 28, 1, 1],
    [29, 29, 2, 2],
    [56, 28, 2, 1],
    [28, 56, 1, 2],
    [1540, 1540, 55, 55],
    [3000, 1000, 55, 19],
    [3080, 561, 55, 10],
    [10, 5000, 1, 55],
  ])("%ix%i gives %i columns × %i rows", (w, h, columns, rows) => {
    expect(imageTokenGrid(w, h, MS4_IMAGE_CONFIG)).toEqual({ columns, rows });
  });

  it("rounds halves to even as Python's round() does", () => {
    expect([0.5, 1.5, 2.5, 280.5, 281.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 280, 282, 2, 3]);
  });
});

describe("images in prompts", () => {
  it("renders a 28x28 image as one [IMG] and [IMG_END], moved before the text", () => {
    expectGolden(
      render({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image", width: 28, height: 28 },
            ],
          },
        ],
      }),
      `<s>${NONE_SETTINGS}[INST][IMG][IMG_END]What is this?[/INST]`,
    );
  });

  it.each([
    [56, 28, 2, 1],
    [28, 56, 1, 2],
    [1540, 1540, 55, 55],
    [3000, 1000, 55, 19],
  ])(
    "lays out a %ix%i image as rows of [IMG] with [IMG_BREAK] and a final [IMG_END]",
    (w, h, columns, rows) => {
      expect(renderImage(w, h)).toBe(`<s>${NONE_SETTINGS}[INST]${imageRun(columns, rows)}x[/INST]`);
    },
  );

  it("keeps images in place when the content is not text followed by one image", () => {
    const rendered = render({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "a" },
            { type: "image", width: 28, height: 28 },
            { type: "text", text: "b" },
          ],
        },
      ],
    });
    expectGolden(rendered, `<s>${NONE_SETTINGS}[INST]a[IMG][IMG_END]b[/INST]`);
  });

  it("reports where each image's tokens are", () => {
    const rendered = render({
      messages: [
        {
          role: "user",
          content: [
            { type: "image", width: 56, height: 56 },
            { type: "text", text: "and" },
            { type: "image", width: 28, height: 28 },
          ],
        },
      ],
    });
    const [first, second] = rendered.images;
    expect(first).toMatchObject({ columns: 2, rows: 2, tokenCount: 6 });
    expect(second).toMatchObject({ columns: 1, rows: 1, tokenCount: 2 });
    expect(rendered.tokens[first!.tokenOffset]).toBe(10);
    expect(rendered.tokens[second!.tokenOffset + 1]).toBe(13);
  });

  it("sizes image_url parts through resolveImageSize", () => {
    const rendered = render(
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "x" },
              { type: "image_url", image_url: { url: "file:///a.png" } },
            ],
          },
        ],
      },
      {
        resolveImageSize: (url) =>
          url === "file:///a.png" ? { width: 56, height: 28 } : { width: 0, height: 0 },
      },
    );
    expect(rendered.text).toBe(`<s>${NONE_SETTINGS}[INST][IMG][IMG][IMG_END]x[/INST]`);
  });

  it("reads image_url data: URLs, and refuses bytes that are not an image with an ImageError", () => {
    const e = (() => {
      try {
        render({
          messages: [
            { role: "user", content: [{ type: "image_url", image_url: "data:image/png;base64,AA" }] },
          ],
        });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(ImageError);
    expect(e).toMatchObject({ reason: "unsupported", messageIndex: 0, partIndex: 0 });
  });

  it("refuses an image part with both bytes and a size", () => {
    expect(() =>
      render({
        messages: [
          { role: "user", content: [{ type: "image", image: new Uint8Array(4), width: 2 } as never] },
        ],
      }),
    ).toThrow(InvalidArgumentError);
  });

  it("refuses an image so thin that scaling leaves it no pixels", () => {
    expect(() => renderImage(1, 5000)).toThrow(ChatFormatError);
    expect(() => renderImage(1, 5000)).toThrow(/1x5000/);
  });

  it("renders an image inside a tool result", () => {
    const rendered = render({
      messages: [
        { role: "user", content: "Use the tool" },
        { role: "assistant", tool_calls: [{ id: "test12345", function: { name: "fn", arguments: "{}" } }] },
        {
          role: "tool",
          tool_call_id: "test12345",
          content: [
            { type: "text", text: "result" },
            { type: "image", width: 4, height: 4 },
          ],
        },
      ],
    });
    expect(rendered.text.endsWith("[TOOL_RESULTS]result[IMG][IMG_END][/TOOL_RESULTS]")).toBe(true);
  });
});

describe("images in prompts, from real image files", () => {
  /** A solid PNG of this size (the header is what the layout reads; the pixels do not matter here). */
  const png = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: "#336699" } })
      .png()
      .toBuffer();

  it.each([
    [28, 28],
    [56, 28],
    [28, 56],
    [29, 29],
    [1540, 1540],
    [3000, 1000],
  ])(
    "a %ix%i PNG renders token for token as the declared size does, as bytes, a data: URL or a path",
    async (w, h) => {
      const bytes = await png(w, h);
      const declared = render({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "x" },
              { type: "image", width: w, height: h },
            ],
          },
        ],
      });
      const asBytes = render({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "x" },
              { type: "image", image: bytes },
            ],
          },
        ],
      });
      const asUrl = render({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "x" },
              { type: "image_url", image_url: { url: dataUrl(bytes) } },
            ],
          },
        ],
      });
      const dir = await mkdtemp(join(tmpdir(), "ms4-image-"));
      try {
        const file = join(dir, "a.png");
        await writeFile(file, bytes);
        const asPath = render({
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "x" },
                { type: "image", path: file },
              ],
            },
          ],
        });
        const fileUrl = () =>
          render({
            messages: [
              {
                role: "user",
                content: [
                  { type: "text", text: "x" },
                  { type: "image_url", image_url: pathToFileURL(file).href },
                ],
              },
            ],
          });
        // image_url never reads the disk (servers pass these parts through from clients)
        expect(fileUrl).toThrow(/do not read local files/);
        for (const r of [asBytes, asUrl, asPath]) {
          expect(r.tokens).toEqual(declared.tokens);
          expect(r.images[0]).toMatchObject({ width: w, height: h, columns: declared.images[0]!.columns });
        }
        expect(asPath.images[0]!.image.file?.format).toBe("png");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it("http(s) URLs are not fetched by renderChat", async () => {
    expect(() =>
      render({
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] },
        ],
      }),
    ).toThrow(/fetched only by generate/);
  });
});
