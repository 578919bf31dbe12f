/**
 * JSON.parse keeps the last of two equal keys without a word. This scanner walks text that JSON.parse has
 * already accepted and reports the first key that appears twice in one object.
 */

export interface DuplicateJsonKey {
  key: string;
  /** Keys of the enclosing objects from the top level down (empty for a duplicate at the top level). */
  path: string[];
}

interface Frame {
  isObject: boolean;
  keys: Set<string>;
  expectingKey: boolean;
  /** The key whose value is currently being read (objects only). */
  currentKey: string | undefined;
}

function endOfString(text: string, openingQuote: number): number {
  let i = openingQuote + 1;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c /* \ */) i += 2;
    else if (ch === 0x22 /* " */) return i;
    else i += 1;
  }
  return text.length;
}

/** `text` must be valid JSON. Returns the first duplicated key, or undefined when every object's keys are distinct. */
export function findDuplicateJsonKey(text: string): DuplicateJsonKey | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (ch === '"') {
      const end = endOfString(text, i);
      if (top?.isObject && top.expectingKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) {
          const enclosing = stack.slice(0, -1).filter((frame) => frame.isObject);
          return { key, path: enclosing.map((frame) => frame.currentKey ?? "") };
        }
        top.keys.add(key);
        top.currentKey = key;
        top.expectingKey = false;
      }
      i = end;
    } else if (ch === "{") {
      stack.push({ isObject: true, keys: new Set(), expectingKey: true, currentKey: undefined });
    } else if (ch === "[") {
      stack.push({ isObject: false, keys: new Set(), expectingKey: false, currentKey: undefined });
    } else if (ch === "}" || ch === "]") {
      stack.pop();
    } else if (ch === "," && top?.isObject) {
      top.expectingKey = true;
    }
  }
  return undefined;
}
