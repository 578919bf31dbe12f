/** The images embedImages() takes: content parts (image_url, image bytes, image path) or bare bytes. */
import type { ImageBytesPart, ImagePathPart, ImageUrlPart } from "../chat/types";
import { type ImageLocation, InvalidArgumentError } from "../errors";
import type { ImageRef } from "../image/sources";

export type ImageInput = Uint8Array | ImageUrlPart | ImageBytesPart | ImagePathPart;

/** What `input` refers to; InvalidArgumentError naming `images[i]` for anything else. */
export function imageRefOf(input: ImageInput, where: Required<Pick<ImageLocation, "imageIndex">>): ImageRef {
  const argument = `images[${where.imageIndex}]`;
  if (input instanceof Uint8Array) return { kind: "bytes", bytes: input };
  const part = input as unknown as Record<string, unknown>;
  if (part !== null && typeof part === "object") {
    if (part["type"] === "image_url") {
      const raw = part["image_url"];
      const url =
        typeof raw === "string"
          ? raw
          : raw !== null && typeof raw === "object"
            ? (raw as Record<string, unknown>)["url"]
            : undefined;
      if (typeof url === "string") return { kind: "url", url };
    } else if (part["type"] === "image") {
      if (part["image"] instanceof Uint8Array) return { kind: "bytes", bytes: part["image"] };
      if (typeof part["path"] === "string" && part["path"].length > 0)
        return { kind: "path", path: part["path"] };
    }
  }
  throw new InvalidArgumentError(
    argument,
    'image bytes, { type: "image", image | path } or { type: "image_url", image_url: { url } }',
    input,
  );
}
