/**
 * Python `json.loads` reproduced for the values mistral-common re-dumps (tool-call arguments): the
 * same grammar (including Python's `NaN`, `Infinity`, `-Infinity`), strict strings (raw control
 * characters rejected), ints kept apart from floats, and dict semantics for repeated keys (the last
 * value wins, the key keeps its first position).
 */

import { PyFloat, PyInt, type PyJson } from "./python-json";

/** Returns the parsed value, or undefined where Python's json.loads would raise JSONDecodeError. */
export function tryParsePythonJson(text: string): { value: PyJson } | undefined {
  const parser = new Parser(text);
  try {
    parser.skipWhitespace();
    const value = parser.parseValue();
    parser.skipWhitespace();
    if (!parser.atEnd()) return undefined;
    return { value };
  } catch (error) {
    if (error instanceof JsonSyntaxError) return undefined;
    throw error;
  }
}

class JsonSyntaxError extends Error {}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos];
      if (c !== " " && c !== "\t" && c !== "\n" && c !== "\r") return;
      this.pos++;
    }
  }

  parseValue(): PyJson {
    const c = this.text[this.pos];
    if (c === "{") return this.parseObject();
    if (c === "[") return this.parseArray();
    if (c === '"') return this.parseString();
    for (const [word, value] of KEYWORDS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.parseNumber();
  }

  private parseNumber(): PyJson {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) throw new JsonSyntaxError("Expecting value");
    this.pos += match[0].length;
    if (match[1] === undefined && match[2] === undefined) {
      return new PyInt(match[0] === "-0" ? "0" : match[0]);
    }
    return new PyFloat(Number(match[0]));
  }

  private parseString(): string {
    this.pos++; // opening quote
    let out = "";
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw new JsonSyntaxError("Unterminated string");
      this.pos++;
      if (c === '"') return out;
      if (c < " ") throw new JsonSyntaxError("Invalid control character");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.text[this.pos];
      this.pos++;
      if (e === "u") {
        out += String.fromCharCode(this.readHex4());
      } else if (e !== undefined && SIMPLE_ESCAPES[e] !== undefined) {
        out += SIMPLE_ESCAPES[e];
      } else {
        throw new JsonSyntaxError("Invalid \\escape");
      }
    }
  }

  private readHex4(): number {
    const hex = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError("Invalid \\uXXXX escape");
    this.pos += 4;
    return Number.parseInt(hex, 16);
  }

  private parseArray(): PyJson[] {
    this.pos++;
    const items: PyJson[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === "]") return items;
      if (c !== ",") throw new JsonSyntaxError("Expecting ',' delimiter");
    }
  }

  private parseObject(): Map<string, PyJson> {
    this.pos++;
    const entries = new Map<string, PyJson>();
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return entries;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') throw new JsonSyntaxError("Expecting property name");
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text[this.pos++] !== ":") throw new JsonSyntaxError("Expecting ':' delimiter");
      this.skipWhitespace();
      entries.set(key, this.parseValue());
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === "}") return entries;
      if (c !== ",") throw new JsonSyntaxError("Expecting ',' delimiter");
    }
  }
}

const KEYWORDS: readonly (readonly [string, PyJson])[] = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["NaN", new PyFloat(Number.NaN)],
  ["Infinity", new PyFloat(Number.POSITIVE_INFINITY)],
  ["-Infinity", new PyFloat(Number.NEGATIVE_INFINITY)],
];
