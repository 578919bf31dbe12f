// The page (a classic script: Chromium loads it from file://): one prompt, a streamed answer, a stop button. window.model comes from preload.cjs.
const statusLine = document.getElementById("status");
const answer = document.getElementById("answer");
let nextId = 1;
let current;

window.model.onMessage((message) => {
  if (message.type === "loaded")
    statusLine.textContent = `Model loaded (${message.kernelPath}, ${message.addon.source}).`;
  if (message.type === "error") statusLine.textContent = `${message.error.name}: ${message.error.message}`;
  if (message.id !== current) return;
  if (message.type === "event" && message.event.type === "text") answer.textContent += message.event.delta;
  if (message.type === "done") statusLine.textContent = `Done: ${message.result.finishReason}.`;
});

document.getElementById("ask").addEventListener("submit", (event) => {
  event.preventDefault();
  current = nextId++;
  answer.textContent = "";
  const content = document.getElementById("prompt").value;
  window.model.request({
    type: "generate",
    id: current,
    messages: [{ role: "user", content }],
    maxTokens: 256,
  });
});

document
  .getElementById("stop")
  .addEventListener("click", () => window.model.request({ type: "abort", id: current }));
