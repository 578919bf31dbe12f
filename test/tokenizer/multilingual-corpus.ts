/**
 * A deterministic, generated multilingual test corpus (no downloaded data): prose in many scripts,
 * code, JSON, numbers, emoji sequences, combining marks, every kind of Unicode white space, very long
 * words and long white-space runs, glued together by a seeded PRNG.
 */

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROSE = [
  "The river was quiet that morning, and the ferry waited for nobody in particular.",
  "Don't forget: the meeting moved to Thursday at 3:45 PM (room B-12).",
  "Le café était déjà froid quand Élodie a enfin trouvé la clé sous le paillasson.",
  "Où est passée la boîte à outils ? Ça fait une heure que je la cherche, franchement !",
  "Die Straßenbahn fährt nicht über die Brücke, weil sie gesperrt ist.",
  "El niño comió una manzana y después pidió más jugo de naranja, ¿verdad?",
  "A avó disse que não há pão suficiente para o almoço de amanhã.",
  "Zażółć gęślą jaźń — to zdanie zawiera wszystkie polskie litery diakrytyczne.",
  "Tiếng Việt có nhiều dấu thanh: sắc, huyền, hỏi, ngã, nặng.",
  "Yarın İstanbul'a gidiyoruz; ığdır, şişli ve çağlayan da listede.",
  "Вчера вечером мы долго гуляли по набережной и обсуждали новый проект.",
  "Україна має багату історію, а її мова звучить дуже мелодійно.",
  "Η θάλασσα ήταν ήρεμη και ο ουρανός καθαρός χωρίς ούτε ένα σύννεφο.",
  "ذهب الطالب إلى المكتبة ليقرأ كتابًا جديدًا عن تاريخ العلوم.",
  "הילדים שיחקו בגן עד שהשמש שקעה מאחורי ההרים.",
  "आज मौसम बहुत अच्छा है, इसलिए हम पार्क में टहलने जाएंगे।",
  "আমি প্রতিদিন সকালে এক কাপ চা পান করি।",
  "நான் நேற்று ஒரு புதிய புத்தகம் வாங்கினேன்.",
  "วันนี้อากาศดีมาก เราจะไปเที่ยวทะเลกันไหม",
  "我们明天早上八点在火车站见面，别迟到了。",
  "這個問題比我們想像的還要複雜得多。",
  "東京の桜は三月の終わりごろに咲き始めます。カタカナもひらがなも使います。",
  "오늘 저녁에 친구들과 함께 한국 음식을 먹으러 갈 거예요.",
  "მე მიყვარს ქართული ენა და მისი ანბანი.",
  "Հայերենը ունի իր յուրահատուկ այբուբենը։",
  "ሰላም ለዓለም፣ እንዴት ነህ?",
  "ANSWER IN CAPITALS: NOBODY EXPECTED THAT. McDonald's iPhone XMLHttpRequest camelCaseWord",
];

const CODE = [
  "function add(a, b) {\n  return a + b;\n}\n\nconsole.log(add(2, 40));\n",
  "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  'fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}\n',
  '#include <stdio.h>\nint main(void) {\n\tfor (int i = 0; i < 3; ++i) printf("%d\\n", i);\n\treturn 0;\n}\n',
  "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;",
  '<div class="card"><span>&nbsp;Hello&amp;bye</span></div>\r\n',
  "git commit -m 'fix: handle CRLF' && ./build.sh --jobs=8 2>&1 | tee log.txt",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: JS source text, not a template
  "const re = /^[a-z_$][\\w$]*$/i; // identifier?\nlet s = `template ${re.source}`;\n",
];

const JSON_SNIPPETS = [
  '{"name": "Ada", "age": 36, "tags": ["math", "engines"], "active": true, "score": 9.75}',
  '[{"id":1,"v":null},{"id":2,"v":-0.5e-3},{"id":3,"v":"ünïcødé"}]',
  '{\n  "model": "tiny",\n  "params": {"dim": 64, "n_layers": 2},\n  "emoji": "🙂"\n}',
];

const SYMBOLS = [
  "😀😃😄 👍🏽👋🏿 👨‍👩‍👧‍👦 👩🏽‍💻 🏳️‍🌈 ❤️‍🔥",
  "🇫🇷🇯🇵🇺🇸🇩🇪 flags 🇧🇷",
  "1️⃣ 2️⃣ #️⃣ ©️ ™️ ☺︎ ✌︎",
  "e\u0301 a\u0308\u0323 n\u0303 o\u0302\u0301 Z\u0336a\u0337l\u0338g\u0335o\u0334",
  "x² + y³ = z⁴; ½ + ¼ = ¾; Ⅻ Ⅳ; ①②③; ١٢٣٤٥; ０１２３; ௧௨௩",
  "∀x ∈ ℝ: x² ≥ 0 ⇒ √(x²) = |x| ≠ −x … «quotes» „Anführung“ “curly” ‘single’",
  "┌──┬──┐\n│ab│cd│\n└──┴──┘",
  "\u200bzero\u200bwidth\u200b \u2060joiner\u200d \ufeffbom\ufeff \u180emongolian",
  "tab\there\tand\vvertical\fform\u0085next\u2028line\u2029para",
];

const WHITE_SPACE = [
  " ",
  "  ",
  "\t",
  "\n",
  "\n\n",
  "\r\n",
  " \n ",
  "\u00a0",
  "\u2009",
  "\u3000",
  "\u0085",
  "\u1680",
  "\u000b",
  "\u000c",
  "\u2028",
  "\u2029",
  "\u202f",
  "\u205f",
  "\u2000\u200a",
  "\ufeff",
  " \u00a0 ",
  "\t \n\t",
];

/** Long-assigned code point ranges to sample random "words" from. */
const RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x61, 0x7a],
  [0x41, 0x5a],
  [0xc0, 0x17f],
  [0x391, 0x3c9],
  [0x410, 0x44f],
  [0x5d0, 0x5ea],
  [0x627, 0x64a],
  [0x905, 0x939],
  [0xe01, 0xe2e],
  [0x3041, 0x3096],
  [0x4e00, 0x9fa5],
  [0xac00, 0xd7a3],
  [0x2200, 0x22ff],
  [0x2500, 0x257f],
  [0x1f600, 0x1f64f],
];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function randomWord(random: () => number, length: number): string {
  const [lo, hi] = pick(random, RANGES);
  let word = "";
  for (let i = 0; i < length; i++) word += String.fromCodePoint(lo + Math.floor(random() * (hi - lo + 1)));
  return word;
}

function randomDigits(random: () => number, length: number): string {
  let digits = "";
  for (let i = 0; i < length; i++) digits += String.fromCharCode(48 + Math.floor(random() * 10));
  return digits;
}

/**
 * One fragment of the corpus. Very long words and white-space runs are rare (they are quadratic for the
 * reference encoders) and left out entirely without `longRuns`.
 */
function fragment(random: () => number, longRuns: boolean): string {
  const roll = random();
  if (roll < 0.4) return pick(random, PROSE);
  if (roll < 0.5) return pick(random, CODE);
  if (roll < 0.56) return pick(random, JSON_SNIPPETS);
  if (roll < 0.68) return pick(random, SYMBOLS);
  if (roll < 0.76) return randomWord(random, 1 + Math.floor(random() * 12));
  if (roll < 0.82) return `${randomDigits(random, 1 + Math.floor(random() * 40))}.${randomDigits(random, 3)}`;
  if (roll < 0.9) return pick(random, WHITE_SPACE).repeat(1 + Math.floor(random() * 6));
  if (roll < 0.995) return `${pick(random, PROSE).split(" ")[0]}${pick(random, WHITE_SPACE)}`;
  // Rare: a very long word or a long white-space run.
  if (!longRuns) return pick(random, PROSE);
  if (random() < 0.5) return randomWord(random, 200 + Math.floor(random() * 1500));
  return pick(random, WHITE_SPACE).repeat(50 + Math.floor(random() * 800));
}

/** Documents of about `documentChars` UTF-16 units each, totalling about `totalChars`. */
export function multilingualDocuments(
  seed: number,
  totalChars: number,
  { documentChars = 20_000, longRuns = true }: { documentChars?: number; longRuns?: boolean } = {},
): string[] {
  const random = seededRandom(seed);
  const documents: string[] = [];
  let total = 0;
  while (total < totalChars) {
    const parts: string[] = [];
    let length = 0;
    while (length < documentChars) {
      const part = fragment(random, longRuns) + (random() < 0.7 ? pick(random, WHITE_SPACE) : "");
      parts.push(part);
      length += part.length;
    }
    const document = parts.join("");
    documents.push(document);
    total += document.length;
  }
  return documents;
}

/** About `totalChars` of plain prose: the corpus's sentences in random order, space or newline separated. */
export function proseText(seed: number, totalChars: number): string {
  const random = seededRandom(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < totalChars) {
    const sentence = pick(random, PROSE) + (random() < 0.1 ? "\n\n" : " ");
    parts.push(sentence);
    length += sentence.length;
  }
  return parts.join("").slice(0, totalChars);
}
