/**
 * JSON Schema `format`s that structured output enforces, as full-match patterns. Each accepts a subset of
 * what the format's definition allows (RFC 3339 dates and times, RFC 3986 URIs, …), chosen so that every
 * string it accepts is valid under that definition and under ajv-formats' checks: dates never name a day
 * a month lacks (February stops at 28, so no leap-year rule is needed), times carry an offset, host
 * names stay under 253 characters. Formats not listed here remain annotations.
 */

const HEX = "[0-9a-fA-F]";
const DATE =
  "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))";
const HOUR = "(?:[01][0-9]|2[0-3])";
const MINUTE = "[0-5][0-9]";
const TIME = `${HOUR}:${MINUTE}:${MINUTE}(?:\\.[0-9]{1,9})?(?:Z|[+-]${HOUR}:${MINUTE})`;
const DURATION_TIME = "T(?:[0-9]+H(?:[0-9]+M)?(?:[0-9]+S)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)";
const DURATION = `P(?:[0-9]+W|(?:[0-9]+Y(?:[0-9]+M)?(?:[0-9]+D)?|[0-9]+M(?:[0-9]+D)?|[0-9]+D)(?:${DURATION_TIME})?|${DURATION_TIME})`;
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
/** A host-name label: 1–62 letters, digits or inner hyphens (4 labels stay within 253 characters). */
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,60}[A-Za-z0-9])?";
const EMAIL_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";

function ipv6(): string {
  const group = `${HEX}{1,4}`;
  const groups = (n: number) => (n === 0 ? "" : `(?:${group}:){${n - 1}}${group}`);
  const forms = [`(?:${group}:){7}${group}`];
  // "::" stands for one or more zero groups: before + after <= 7 written groups.
  for (let before = 0; before <= 7; before++)
    for (let after = 0; before + after <= 7; after++) forms.push(`${groups(before)}::${groups(after)}`);
  return `(?:${forms.join("|")})`;
}

// RFC 3986 characters: unreserved, percent-encoded, sub-delimiters; pchar adds ":" and "@".
const PCT = `%${HEX}{2}`;
// "-" goes last in each class so that it stays a literal.
const UNRESERVED_SUB = "A-Za-z0-9._~!$&'()*+,;=";
const PCHAR = `(?:[${UNRESERVED_SUB}:@-]|${PCT})`;
const SEGMENT = `${PCHAR}*`;
const SEGMENT_NZ = `${PCHAR}+`;
const AUTHORITY = `(?:(?:[${UNRESERVED_SUB}:-]|${PCT})*@)?(?:[${UNRESERVED_SUB}-]|${PCT})*(?::[0-9]*)?`;
// The hier-part is never empty (ajv-formats requires a path, authority or "/" after the scheme).
const URI = `[A-Za-z][A-Za-z0-9+.-]*:(?://${AUTHORITY}(?:/${SEGMENT})*|/(?:${SEGMENT_NZ}(?:/${SEGMENT})*)?|${SEGMENT_NZ}(?:/${SEGMENT})*)(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?`;

/** The pattern of a format name, if it has one (own keys only: "__proto__" or "toString" name no format). */
export function formatPattern(name: string): string | undefined {
  return Object.hasOwn(FORMAT_PATTERNS, name) ? FORMAT_PATTERNS[name] : undefined;
}

export const FORMAT_PATTERNS: Readonly<Record<string, string>> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE}T${TIME}`,
  duration: DURATION,
  uuid: `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`,
  email: `${EMAIL_ATOM}(?:\\.${EMAIL_ATOM})*@(?:${LABEL}\\.)+${LABEL}`,
  ipv4: `(?:${OCTET}\\.){3}${OCTET}`,
  ipv6: ipv6(),
  hostname: `${LABEL}(?:\\.${LABEL}){0,3}`,
  uri: URI,
};
