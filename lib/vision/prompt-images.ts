/**
 * Images of a chat request on their way into the model: http(s) URLs fetched under the model's policy (when it has
 * one), the rendered prompt's images encoded, and their features placed on the `[IMG]` positions as input-embedding
 * spans (lib/engine/input-embeddings.ts): one span per grid row, since each row of `[IMG]` ends with an
 * `[IMG_BREAK]` (or `[IMG_END]`) that keeps its own embedding (docs/model.md#token-grid).
 */
import type { ImagePlacement } from "../chat/types";
import { type InputEmbeddingSpan, inputEmbeddingSpan } from "../engine/input-embeddings";
import { ImageError, UnsupportedFeatureError } from "../errors";
import { fetchImageBytes, type ImageFetchPolicy } from "../image/fetch";
import { isHttpUrl } from "../image/sources";
import type { ImageFeatures, VisionEncoder } from "./vision-encoder";

/** The spans of each image's `[IMG]` rows, features row by row. */
export function imageSpans(
  placements: readonly ImagePlacement[],
  features: readonly ImageFeatures[],
  width: number,
): InputEmbeddingSpan[] {
  const spans: InputEmbeddingSpan[] = [];
  placements.forEach((p, i) => {
    const f = features[i]!;
    for (let r = 0; r < p.rows; r++) {
      const rows = f.embeddings.subarray(r * p.columns * width, (r + 1) * p.columns * width);
      spans.push(inputEmbeddingSpan(p.tokenOffset + r * (p.columns + 1), rows, width));
    }
  });
  return spans;
}

/** The http(s) URLs of the image_url parts of a request's user and tool messages, with where they are. */
export function httpImageUrls(messages: unknown): { url: string; messageIndex: number; partIndex: number }[] {
  const out: { url: string; messageIndex: number; partIndex: number }[] = [];
  if (!Array.isArray(messages)) return out;
  messages.forEach((m: unknown, messageIndex) => {
    if (!isRecord(m) || (m["role"] !== "user" && m["role"] !== "tool")) return; // the roles that may hold images
    const content = m["content"];
    if (!Array.isArray(content)) return;
    content.forEach((part: unknown, partIndex) => {
      if (!isRecord(part) || part["type"] !== "image_url") return;
      const raw = part["image_url"];
      const url = typeof raw === "string" ? raw : isRecord(raw) ? raw["url"] : undefined;
      if (typeof url === "string" && isHttpUrl(url)) out.push({ url, messageIndex, partIndex });
    });
  });
  return out;
}

export interface PromptImagesOptions {
  /** The model's encoder; undefined for a checkpoint without a vision tower. */
  readonly encoder: VisionEncoder | undefined;
  readonly hiddenSize: number;
  /** The imageFetch load option (undefined: http(s) URLs are refused). */
  readonly fetchPolicy: ImageFetchPolicy | undefined;
}

export class PromptImages {
  constructor(private readonly options: PromptImagesOptions) {}

  get hasVision(): boolean {
    return this.options.encoder !== undefined;
  }

  /** Fetches the request's http(s) image URLs when the model's policy allows it (nothing is fetched otherwise). */
  async fetch(messages: unknown, signal?: AbortSignal): Promise<ReadonlyMap<string, Uint8Array>> {
    const fetched = new Map<string, Uint8Array>();
    const policy = this.options.fetchPolicy;
    if (policy === undefined) return fetched;
    for (const { url, messageIndex, partIndex } of httpImageUrls(messages)) {
      if (fetched.has(url)) continue;
      fetched.set(url, await fetchImageBytes(url, policy, { signal, where: { messageIndex, partIndex } }));
    }
    return fetched;
  }

  /** The input-embedding spans of the prompt's images (encoded now). */
  async spans(placements: readonly ImagePlacement[], signal?: AbortSignal): Promise<InputEmbeddingSpan[]> {
    const encoder = this.options.encoder;
    if (encoder === undefined) throw noVisionTower(placements.length);
    const images = placements.map((p) => {
      const file = p.image.file;
      if (file === undefined) {
        throw new ImageError(
          "no_pixels",
          `an image given only by its size (${p.width}x${p.height}) can be laid out but not seen: pass its bytes, path or URL`,
          p.image,
        );
      }
      return { file, where: p.image };
    });
    return imageSpans(placements, await encoder.encode(images, signal), this.options.hiddenSize);
  }
}

export function noVisionTower(images: number): UnsupportedFeatureError {
  return new UnsupportedFeatureError(
    "vision",
    `the request holds ${images} image(s), but this checkpoint has no vision tower; send text only ` +
      "(renderChat still lays images out, e.g. to count their tokens)",
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
