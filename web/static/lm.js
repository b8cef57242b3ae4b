// The language-model section: POST /lm/generate streams both models' BPE pieces (Server-Sent Events);
// each piece is its own span, shaded alternately, its probability in its title (shown on hover), after the
// prompt (in bold). lm_inspect.js shows what the models weigh before each piece.
"use strict";

const race = { busy: false };

document.addEventListener("DOMContentLoaded", () => {
  $("lm-form").addEventListener("submit", (event) => { event.preventDefault(); generateRace(); });
  $("lm-prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); generateRace(); }
  });
});

function raceRequest() {
  const request = { prompt: $("lm-prompt").value };
  const fields = { temperature: "lm-temperature", top_k: "lm-top-k", max_new_tokens: "lm-length", seed: "lm-seed" };
  for (const [key, id] of Object.entries(fields)) {
    const text = $(id).value.trim();
    // A number is sent as a number; anything else as typed, so that the server's message names the field.
    if (text !== "") request[key] = Number.isFinite(Number(text)) ? Number(text) : text;
  }
  return request;
}

function column(model) {
  const node = document.querySelector(`.lm-column[data-model="${model}"]`);
  return { node, text: node.querySelector(".lm-text"), meta: node.querySelector(".lm-meta") };
}

async function generateRace() {
  if (race.busy) return;
  race.busy = true;
  $("lm-generate").disabled = true;
  showMessage($("lm-error"), "");
  const started = performance.now();
  const request = raceRequest();
  for (const node of document.querySelectorAll(".lm-column[data-model]")) {
    const col = column(node.dataset.model);
    // The prompt stays before each continuation ("To be" + "asting," would otherwise read as one word).
    const prompt = document.createElement("span");
    prompt.className = "prompt-echo";
    prompt.textContent = request.prompt;
    prompt.title = "le début du texte";
    col.text.replaceChildren(prompt);
    col.meta.textContent = "";
    col.text.dataset.pieces = "0";
    node.setAttribute("aria-busy", "true");
  }
  document.dispatchEvent(new CustomEvent("lm-race", { detail: request.prompt }));
  try {
    const response = await fetch("/lm/generate" + experimentQuery("lm"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify(request),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    await readServerEvents(response, (event) => onRaceEvent(event, started));
  } catch (err) {
    showMessage($("lm-error"), failureMessage(err, "La génération a échoué."));
  } finally {
    for (const node of document.querySelectorAll(".lm-column[data-model]")) node.setAttribute("aria-busy", "false");
    race.busy = false;
    $("lm-generate").disabled = false;
  }
}

function onRaceEvent(event, started) {
  const data = event.data;
  if (event.name === "piece") {
    const col = column(data.model);
    const count = Number(col.text.dataset.pieces) + 1;
    const piece = document.createElement("span");
    piece.className = count % 2 ? "piece odd" : "piece even";
    piece.textContent = data.text;
    const percent = 100 * data.p;
    piece.title = `p = ${percent >= 0.1 ? percent.toFixed(1) : percent.toPrecision(2)} %` + (data.tokens > 1 ? ` (${data.tokens} tokens)` : "");
    piece.dataset.p = String(data.p);
    col.text.append(piece);
    col.text.dataset.pieces = String(count);
    if (count === 1) col.meta.textContent = `premier morceau après ${Math.round(performance.now() - started)} ms`;
  } else if (event.name === "done") {
    const col = column(data.model);
    col.meta.textContent += ` · ${data.pieces} morceaux en ${data.seconds.toFixed(2)} s`;
    col.node.setAttribute("aria-busy", "false");
  } else if (event.name === "unavailable") {
    const col = column(data.model);
    col.meta.textContent = `${data.error}`;
    col.node.setAttribute("aria-busy", "false");
  } else if (event.name === "error") {
    throw new Error(data.error);
  }
}
