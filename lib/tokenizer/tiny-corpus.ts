/**
 * Built-in training text for the tiny test model's tokenizer (see train.ts): a few KB of prose in
 * several languages, code, JSON, numbers and chat-like lines, written for this project.
 */
export const TINY_CORPUS = `The little lighthouse stood at the end of the pier, and every evening the keeper climbed its
ninety-two steps to light the lamp. Ships passed in the night; some blinked back, most did not.
She wrote in her notebook: "Wind from the west, 14 knots. Sea calm. Two fishing boats returned late."
Reading is a quiet way of travelling. A good book, a warm cup of tea and a rainy afternoon are enough.
The model answers questions, writes code, and explains its reasoning step by step when asked.

Le matin, la boulangerie du village ouvre à six heures et l'odeur du pain chaud remplit la rue.
Élise préfère les croissants, mais son frère choisit toujours une baguette bien cuite.
« Où as-tu rangé les clés ? » demanda-t-elle. « Sur l'étagère, à côté des lettres », répondit-il.
Les élèves ont appris que la Loire est le plus long fleuve de France : environ 1 006 kilomètres.
Ça m'étonne qu'il fasse déjà si froid en octobre ; l'hiver sera peut-être précoce cette année.

Der Zug nach München hat heute leider zwanzig Minuten Verspätung, weil ein Signal gestört ist.
Wir treffen uns um halb acht vor dem Theater und gehen danach noch etwas essen.
El mercado abre los sábados por la mañana; allí venden frutas, verduras y quesos de la región.
¿Has visto mis gafas? Creo que las dejé en la mesa de la cocina junto al periódico.
Il treno per Firenze parte dal binario tre alle nove e un quarto.
A biblioteca da cidade tem mais de cem mil livros e abre todos os dias, exceto domingo.
Вечером мы пили чай и говорили о путешествиях, книгах и музыке.
Το καλοκαίρι πηγαίνουμε στο νησί και κολυμπάμε κάθε πρωί.
今天天气很好，我们一起去公园散步吧。
週末は友達と映画を見に行きました。とても面白かったです。
오늘은 날씨가 맑아서 산책하기 좋습니다.

function greet(name) {
  const message = \`Hello, \${name}!\`;
  console.log(message);
  return message.length;
}

export async function fetchJson(url, options = {}) {
  const response = await fetch(url, { ...options, headers: { "content-type": "application/json" } });
  if (!response.ok) throw new Error(\`HTTP \${response.status}\`);
  return response.json();
}

def mean(values: list[float]) -> float:
    """Returns the arithmetic mean of a non-empty list."""
    if not values:
        raise ValueError("values must not be empty")
    return sum(values) / len(values)

for i in range(10):
    print(i, i * i, i ** 3)

#include <stdint.h>
static uint32_t hash32(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) { h ^= (uint8_t)*s++; h *= 16777619u; }
    return h;
}

{"id": "req_001", "model": "tiny", "messages": [{"role": "user", "content": "Bonjour !"}], "temperature": 0.7}
{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}, "result": {"temp": 18.5, "sky": "cloudy"}}
{"items": [1, 2, 3, 5, 8, 13, 21, 34, 55, 89], "total": 231, "ok": true, "next": null}

Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 65536 3.14159 2.71828 -17 +23 1e-6 6.02e23
Dates: 2024-01-15, 2025-12-31, 1999-07-04T12:30:00Z. Prices: $19.99, €7,50, £3.20, ¥1200.
Phone: +33 1 23 45 67 89. Version 1.10.0, build 2603, ratio 16:9, score 98%.

User: What is the capital of Australia?
Assistant: The capital of Australia is Canberra, not Sydney as many people think.
User: Can you write a short poem about autumn?
Assistant: Leaves of amber, leaves of rust, / drifting softly into dust; / the year exhales, the days grow thin, / and quiet evenings settle in.
User: Peux-tu traduire « good morning » en français ?
Assistant: Bien sûr : « bonjour » ou, plus familier, « salut ».
User: How many days are there in a leap year?
Assistant: A leap year has 366 days; February has 29 days instead of 28.
User: Explain recursion in one sentence.
Assistant: Recursion is when a function solves a problem by calling itself on smaller versions of the same problem.
User: Give me three tips for better sleep.
Assistant: 1. Keep a regular schedule. 2. Avoid screens an hour before bed. 3. Keep the room cool and dark.
Tool call: {"name": "search", "arguments": {"query": "weather in Lyon tomorrow"}}
Tool result: {"forecast": "sunny", "high": 24, "low": 12}
Assistant: Tomorrow in Lyon it will be sunny, with a high of 24 °C and a low of 12 °C.
`;
