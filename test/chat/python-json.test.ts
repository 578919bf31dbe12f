import { describe, expect, it } from "vitest";
import { PyFloat, PyInt, pythonFloatRepr, pythonJsonDumps, tryParsePythonJson } from "../../lib/chat/index";

/** Round trip through the Python-json parser and dumper, as mistral-common re-dumps tool-call arguments. */
function redump(text: string): string | undefined {
  const parsed = tryParsePythonJson(text);
  return parsed === undefined ? undefined : pythonJsonDumps(parsed.value);
}

describe("pythonFloatRepr", () => {
  it.each([
    [1, "1.0"],
    [100, "100.0"],
    [0.1, "0.1"],
    [0.0001, "0.0001"],
    [0.00012, "0.00012"],
    [1e-5, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [1e15, "1000000000000000.0"],
    [9999999999999998, "9999999999999998.0"],
    [1e16, "1e+16"],
    [1e22, "1e+22"],
    [1.2345678901234568e17, "1.2345678901234568e+17"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [-2.5, "-2.5"],
    [-0, "-0.0"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
    [Number.NEGATIVE_INFINITY, "-Infinity"],
  ])("writes %s as Python repr %s", (x, expected) => {
    expect(pythonFloatRepr(x)).toBe(expected);
  });
});

describe("pythonJsonDumps", () => {
  it("uses Python's separators and keeps non-ASCII text as is", () => {
    expect(pythonJsonDumps({ a: [1, 2, { b: null }], c: "Zürich 東京 😀", d: true })).toBe(
      '{"a": [1, 2, {"b": null}], "c": "Zürich 東京 😀", "d": true}',
    );
  });

  it("escapes control characters like Python and leaves U+2028, U+2029 and DEL alone", () => {
    expect(pythonJsonDumps('q"b\\n\n\r\t\b\f\u0001\u001f\u007f\u2028\u2029')).toBe(
      '"q\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001f\u007f\u2028\u2029"',
    );
  });

  it("writes integral JS numbers as Python ints and others as floats", () => {
    expect(pythonJsonDumps([1, 1.0, 2.5, 1e21, 1e-7])).toBe("[1, 1, 2.5, 1000000000000000000000, 1e-07]");
  });

  it("sorts keys by code point with sortKeys", () => {
    expect(pythonJsonDumps({ b: 1, a: 2, "\u{10000}": 3, "\uffff": 4 }, { sortKeys: true })).toBe(
      '{"a": 2, "b": 1, "\uffff": 4, "\u{10000}": 3}',
    );
  });

  it("leaves out keys whose value is undefined", () => {
    expect(pythonJsonDumps({ a: undefined, b: 1 })).toBe('{"b": 1}');
  });
});

describe("tryParsePythonJson", () => {
  it("keeps ints and floats apart as json.loads does", () => {
    expect(redump('{"i": 1, "f": 1.0, "e": 1E5, "s": 0.00001, "big": 123456789012345678901234567890}')).toBe(
      '{"i": 1, "f": 1.0, "e": 100000.0, "s": 1e-05, "big": 123456789012345678901234567890}',
    );
    expect(tryParsePythonJson("-0")?.value).toEqual(new PyInt("0"));
    expect(tryParsePythonJson("-0.0")?.value).toEqual(new PyFloat(-0));
  });

  it("accepts Python's NaN and Infinity and normalises whitespace", () => {
    expect(redump(" [NaN,Infinity , -Infinity]\n")).toBe("[NaN, Infinity, -Infinity]");
    expect(redump('{"a":{"b":[1,2,{}],"c":[]}}')).toBe('{"a": {"b": [1, 2, {}], "c": []}}');
  });

  it("keeps key order, including integer-like keys, and lets a repeated key keep its first place", () => {
    expect(redump('{"b": 1, "2": 2, "1": 3}')).toBe('{"b": 1, "2": 2, "1": 3}');
    expect(redump('{"a": 1, "b": 2, "a": 3}')).toBe('{"a": 3, "b": 2}');
  });

  it("decodes escapes, including surrogate pairs", () => {
    expect(redump('"\\u00e9\\ud83d\\ude00\\n\\/"')).toBe('"é😀\\n/"');
  });

  it.each([
    "",
    "{",
    "{'a': 1}",
    '{"a": 1,}',
    "[1, 2",
    "01",
    "1.",
    ".5",
    "+1",
    '"raw\ncontrol"',
    '"bad \\x escape"',
    "nul",
    "{} extra",
    "\ufeff{}",
  ])("refuses %j as json.loads would", (text) => {
    expect(tryParsePythonJson(text)).toBeUndefined();
  });
});
