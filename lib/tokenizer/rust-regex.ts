/**
 * Translates a tiktoken pre-split pattern (Rust `regex` / `fancy-regex` syntax) into a JS RegExp with the
 * same meaning. The two dialects agree on most of the syntax a tokenizer pattern uses; where they do not,
 * the Rust meaning is spelled out explicitly:
 *
 * - `\s` is Unicode White_Space in Rust. JS `\s` adds U+FEFF and lacks U+0085, so both `\s` and `\S` are
 *   replaced by an explicit class (also inside `[...]`, e.g. `[^\s\p{L}]`).
 * - `\d` / `\w` are Unicode-aware in Rust but ASCII in JS: expanded to their Unicode definitions.
 * - `.` excludes only `\n` in Rust (JS also excludes `\r`, U+2028, U+2029).
 * - `\A` / `\z`, `(?P<name>...)`, `\x{...}`, `\pL` are rewritten to their JS spellings.
 *
 * Constructs without an exact JS equivalent (inline flags, Unicode word boundaries, nested classes and
 * class set operations, `\S` / `\W` inside a class) are rejected rather than approximated.
 */

/** Rust's `\s`: the 25 code points with the Unicode White_Space property, as the body of a class. */
export const RUST_WHITE_SPACE_CLASS_BODY =
  "\\t\\n\\x0B\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/** Rust's Unicode `\w` (UTS#18 word characters), as the body of a class. */
const RUST_WORD_CLASS_BODY = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";

/** Thrown for a pattern that cannot be translated; the caller wraps it with the file name. */
export class PatternTranslationError extends Error {}

/** Returns JS RegExp source (for the `u` flag) matching exactly what the Rust pattern matches. */
export function translateRustPattern(pattern: string): string {
  let out = "";
  let inClass = false;
  let classStart = -1; // index in `pattern` just after `[` or `[^`
  let i = 0;
  const fail = (what: string): never => {
    throw new PatternTranslationError(`${what} at offset ${i} is not supported`);
  };

  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "\\") {
      const [text, length] = translateEscape(pattern, i, inClass, fail);
      out += text;
      i += length;
      continue;
    }
    if (inClass) {
      if (c === "]" && i !== classStart) {
        inClass = false;
        out += "]";
      } else if (c === "]") {
        out += "\\]"; // `[]a]`: a leading `]` is a literal in Rust
      } else if (c === "[") {
        fail("a nested character class or POSIX class");
      } else if ((c === "&" || c === "-" || c === "~") && pattern[i + 1] === c) {
        fail(`the class set operation '${c}${c}'`);
      } else {
        out += c;
      }
      i += 1;
      continue;
    }
    if (c === "[") {
      inClass = true;
      const negated = pattern[i + 1] === "^";
      out += negated ? "[^" : "[";
      i += negated ? 2 : 1;
      classStart = i;
      continue;
    }
    if (c === ".") {
      out += "[^\\n]";
      i += 1;
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i + 2);
      if (rest.startsWith(":") || rest.startsWith("=") || rest.startsWith("!")) {
        out += `(?${rest[0]}`;
        i += 3;
      } else if (rest.startsWith("<=") || rest.startsWith("<!")) {
        out += `(?${rest.slice(0, 2)}`;
        i += 4;
      } else if (rest.startsWith("P<")) {
        out += "(?<";
        i += 4;
      } else if (rest.startsWith("<")) {
        out += "(?<";
        i += 3;
      } else {
        fail("an inline flag group '(?...'");
      }
      continue;
    }
    out += c;
    i += 1;
  }
  if (inClass) throw new PatternTranslationError("unterminated character class");
  return out;
}

/** Translates the escape starting at `pattern[at] === "\\"`; returns [JS text, characters consumed]. */
function translateEscape(
  pattern: string,
  at: number,
  inClass: boolean,
  fail: (what: string) => never,
): [string, number] {
  const c = pattern[at + 1];
  if (c === undefined) return fail("a trailing backslash");
  switch (c) {
    case "s":
      return [inClass ? RUST_WHITE_SPACE_CLASS_BODY : `[${RUST_WHITE_SPACE_CLASS_BODY}]`, 2];
    case "S":
      return inClass ? fail("'\\S' inside a class") : [`[^${RUST_WHITE_SPACE_CLASS_BODY}]`, 2];
    case "d":
      return ["\\p{Nd}", 2];
    case "D":
      return ["\\P{Nd}", 2];
    case "w":
      return [inClass ? RUST_WORD_CLASS_BODY : `[${RUST_WORD_CLASS_BODY}]`, 2];
    case "W":
      return inClass ? fail("'\\W' inside a class") : [`[^${RUST_WORD_CLASS_BODY}]`, 2];
    case "A":
      return inClass ? fail("'\\A' inside a class") : ["^", 2];
    case "z":
      return inClass ? fail("'\\z' inside a class") : ["$", 2];
    case "b":
    case "B":
    case "<":
    case ">":
      return fail(`the Unicode word boundary '\\${c}'`);
    case "a":
      return ["\\x07", 2];
    case "e":
      return ["\\x1B", 2];
    case "p":
    case "P": {
      if (pattern[at + 2] === "{") {
        const close = pattern.indexOf("}", at + 3);
        if (close < 0) return fail("an unterminated '\\p{'");
        return [`\\${c}{${propertyName(pattern.slice(at + 3, close))}}`, close + 1 - at];
      }
      const letter = pattern[at + 2];
      if (letter === undefined) return fail(`a trailing '\\${c}'`);
      return [`\\${c}{${letter}}`, 3];
    }
    case "x": {
      if (pattern[at + 2] === "{") {
        const close = pattern.indexOf("}", at + 3);
        if (close < 0) return fail("an unterminated '\\x{'");
        return [`\\u{${pattern.slice(at + 3, close)}}`, close + 1 - at];
      }
      return [pattern.slice(at, at + 4), 4];
    }
    default:
      return [`\\${c}`, 2];
  }
}

/** Rust accepts a bare script name (`\p{Greek}`); JS needs `Script=Greek`. Everything else is passed on. */
function propertyName(name: string): string {
  if (name.includes("=") || name.includes(":")) return name.replace(":", "=");
  try {
    new RegExp(`\\p{${name}}`, "u");
    return name;
  } catch {
    return `Script=${name}`;
  }
}

/** Compiles a Rust pattern to a global, Unicode JS RegExp (throws PatternTranslationError or SyntaxError). */
export function compileRustPattern(pattern: string): RegExp {
  return new RegExp(translateRustPattern(pattern), "gu");
}
