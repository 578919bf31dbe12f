import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import { StreamDecoder } from "../../lib/tokenizer/stream-decoder";
import { Tekken } from "../../lib/tokenizer/tekken";
import { seededRandom } from "./multilingual-corpus";
import { smallTekkenJson } from "./small-tekken";

// Only byte tokens (plus "é"), so every multi-byte character is spread over several tokens.
const tekken = Tekken.fromJson(smallTekkenJson({ extra: ["é"] }));
const TEXT = "Héllo 😀 👨‍👩‍👧‍👦 🇫🇷 日本語 e\u0301 ∑x² done";

/** True when the string has no U+FFFD and no unpaired surrogate, i.e. no half character. */
function isWhole(text: string): boolean {
  return (
    !text.includes("\ufffd") &&
    !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)
  );
}

describe("StreamDecoder", () => {
  it("never emits half of a multi-byte character when fed one token at a time", () => {
    const ids = tekken.encode(TEXT);
    expect(ids.length).toBeGreaterThan([...TEXT].length); // multi-byte characters really are split
    const decoder = new StreamDecoder(tekken);
    let text = "";
    for (const id of ids) {
      const delta = decoder.push(id);
      expect(isWhole(delta), JSON.stringify(delta)).toBe(true);
      text += delta;
      expect(TEXT.startsWith(text)).toBe(true);
    }
    expect(decoder.flush()).toBe("");
    expect(text).toBe(TEXT);
  });

  it("gives whole characters at every split point of the id sequence", () => {
    const ids = tekken.encode(TEXT);
    for (let split = 0; split <= ids.length; split++) {
      const decoder = new StreamDecoder(tekken);
      const first = decoder.push(ids.slice(0, split));
      const second = decoder.push(ids.slice(split));
      expect(isWhole(first)).toBe(true);
      expect(first + second + decoder.flush()).toBe(TEXT);
    }
  });

  it("emits the bytes of an unfinished character as U+FFFD on flush", () => {
    const ids = tekken.encode("a😀");
    const decoder = new StreamDecoder(tekken);
    expect(decoder.push(ids.slice(0, 3))).toBe("a");
    expect(decoder.flush()).toBe("\ufffd");
    expect(decoder.push(tekken.encode("ok"))).toBe("ok"); // reusable after flush
  });

  it("skips special tokens by default and keeps their strings with keep", () => {
    const ids = [1, 3, ...tekken.encode("hé"), 4];
    expect(new StreamDecoder(tekken).push(ids)).toBe("hé");
    expect(new StreamDecoder(tekken, { specialTokens: "keep" }).push(ids)).toBe("<s>[INST]hé[/INST]");
    expect(() => new StreamDecoder(tekken, { specialTokens: "raise" as never })).toThrow(
      InvalidArgumentError,
    );
  });

  it("equals decode() for random id sequences with specials and broken UTF-8", () => {
    const random = seededRandom(99);
    for (let trial = 0; trial < 300; trial++) {
      const ids = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        random() < 0.1 ? Math.floor(random() * 100) : 100 + Math.floor(random() * 257),
      );
      for (const policy of ["skip", "keep"] as const) {
        const decoder = new StreamDecoder(tekken, { specialTokens: policy });
        let text = "";
        for (const id of ids) text += decoder.push(id);
        expect(text + decoder.flush()).toBe(tekken.decode(ids, { specialTokens: policy }));
      }
    }
  });
});
