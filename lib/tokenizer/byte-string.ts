/**
 * "Byte strings": JS strings whose char codes are bytes 0..255 (latin1). They are the keys of the
 * rank table because V8 hashes and compares strings much faster than byte arrays.
 */

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** The UTF-8 bytes of `text` as a byte string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8ByteString(text: string): string {
  if (ASCII_ONLY.test(text)) return text; // ASCII is its own UTF-8
  if (text.length > 64) return Buffer.from(text, "utf8").toString("latin1");
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      bytes.push(c);
    } else if (c < 0x800) {
      bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const low = text.charCodeAt(i + 1);
      if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
        bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
      } else {
        bytes.push(0xef, 0xbf, 0xbd);
      }
    } else {
      bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
  }
  return String.fromCharCode(...bytes);
}
