/**
 * Typed errors. Every failure the library reports is one of these; messages name the file, tensor,
 * field or argument and say what was expected (README.md#api).
 */

/** Base class: `code` is stable and machine-readable, `message` is for people. */
export class Ms4Error extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A caller passed a bad argument: names the argument, what was expected and what was received. `message`
 * replaces the standard sentence where another wording reads better (an unknown option's "did you mean").
 */
export class InvalidArgumentError extends Ms4Error {
  readonly argument: string;
  constructor(argument: string, expected: string, received: unknown, message?: string) {
    super(
      "ERR_INVALID_ARGUMENT",
      message ?? `Expected ${expected} for ${argument} but received ${describe(received)}`,
    );
    this.argument = argument;
  }
}

/**
 * The request is well formed but needs something this checkpoint or version does not have. `feature` is stable and
 * machine-readable: "vision" (image inputs need a checkpoint with a vision tower).
 */
export class UnsupportedFeatureError extends Ms4Error {
  readonly feature: string;
  constructor(feature: string, message: string) {
    super("ERR_UNSUPPORTED_FEATURE", message);
    this.feature = feature;
  }
}

/**
 * Why an image was refused: "unsupported" (not PNG, JPEG, WebP or GIF), "corrupt" (bytes that do not decode),
 * "truncated", "too_large" (bytes or pixels over the limits, checked before decoding), "empty" (a zero side, or a
 * side that scaling to the largest image size leaves without pixels), "no_pixels" (an image part given only by its
 * size), "fetch" (an http(s) image could not be fetched within the policy), "not_allowed" (http(s) fetching is off,
 * a file: URL in an image_url, or an unknown URL scheme), "unreadable" (a file that cannot be read), "decoder_missing" (the `sharp` package is
 * not installed).
 */
export type ImageErrorReason =
  | "unsupported"
  | "corrupt"
  | "truncated"
  | "too_large"
  | "empty"
  | "no_pixels"
  | "fetch"
  | "not_allowed"
  | "unreadable"
  | "decoder_missing";

/** Where an image came from: the message and content-part index in the request (absent for embedImages inputs). */
export interface ImageLocation {
  readonly messageIndex?: number | undefined;
  readonly partIndex?: number | undefined;
  /** Index in the list given to embedImages(). */
  readonly imageIndex?: number | undefined;
}

/** An image could not be used: `reason` says why, `messageIndex` / `partIndex` (or `imageIndex`) say which. */
export class ImageError extends Ms4Error {
  readonly reason: ImageErrorReason;
  readonly messageIndex: number | undefined;
  readonly partIndex: number | undefined;
  readonly imageIndex: number | undefined;
  constructor(
    reason: ImageErrorReason,
    message: string,
    where: ImageLocation = {},
    options?: { cause?: unknown },
  ) {
    const place =
      where.messageIndex !== undefined
        ? `messages[${where.messageIndex}].content[${where.partIndex ?? 0}]: `
        : where.imageIndex !== undefined
          ? `images[${where.imageIndex}]: `
          : "";
    super("ERR_IMAGE", `${place}${message}`, options);
    this.reason = reason;
    this.messageIndex = where.messageIndex;
    this.partIndex = where.partIndex;
    this.imageIndex = where.imageIndex;
  }
}

/** A config file (params.json, config.json, tekken.json settings) is missing a field or has a bad value. */
export class ConfigError extends Ms4Error {
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, field: string | undefined, message: string, options?: { cause?: unknown }) {
    super("ERR_CONFIG", `${file}${field ? ` (${field})` : ""}: ${message}`, options);
    this.file = file;
    this.field = field;
  }
}

/** A checkpoint file is missing, truncated, lying about its contents, or has missing/extra/mis-shaped tensors. */
export class CheckpointError extends Ms4Error {
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  constructor(
    message: string,
    where: { file?: string | undefined; tensor?: string | undefined } = {},
    options?: { cause?: unknown },
  ) {
    const prefix = [where.file, where.tensor ? `tensor ${where.tensor}` : undefined]
      .filter(Boolean)
      .join(": ");
    super("ERR_CHECKPOINT", prefix ? `${prefix}: ${message}` : message, options);
    this.file = where.file;
    this.tensor = where.tensor;
  }
}

/** The checkpoint asks for a quantization scheme this runtime does not implement. */
export class UnsupportedQuantizationError extends Ms4Error {
  constructor(message: string) {
    super("ERR_UNSUPPORTED_QUANTIZATION", message);
  }
}

/** tekken.json is malformed or inconsistent. */
export class TokenizerError extends Ms4Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_TOKENIZER", message, options);
  }
}

/** A chat request cannot be encoded (the same conditions mistral-common rejects). */
export class ChatFormatError extends Ms4Error {
  constructor(message: string) {
    super("ERR_CHAT_FORMAT", message);
  }
}

/** The native addon is missing, failed to load, or does not export what this version of the library needs. */
export class NativeAddonError extends Ms4Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_NATIVE_ADDON", message, options);
  }
}

/**
 * Not enough memory for the weights or the KV pool; said before anything is allocated where possible, with the
 * bytes needed and the bytes there are when they are known.
 */
export class OutOfMemoryError extends Ms4Error {
  readonly requiredBytes: number | undefined;
  readonly availableBytes: number | undefined;
  constructor(message: string, bytes: { required?: number; available?: number } = {}) {
    super("ERR_OUT_OF_MEMORY", message);
    this.requiredBytes = bytes.required;
    this.availableBytes = bytes.available;
  }
}

/** A method was called on a model after `dispose()`. */
export class DisposedError extends Ms4Error {
  constructor(what = "Model") {
    super("ERR_DISPOSED", `${what} has been disposed; load it again to use it`);
  }
}

/** An operation was cancelled through its AbortSignal. */
export class AbortError extends Ms4Error {
  constructor(message = "The operation was aborted") {
    super("ERR_ABORTED", message);
    this.name = "AbortError";
  }
}

export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (typeof value === "string")
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "function") return "a function";
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}
