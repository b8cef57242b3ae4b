// Inside the language models: POST /lm/inspect gives each model's 100 most likely next pieces with their raw
// logits, and the Transformer's attention [layer][head][query][key]. The temperature and top-k sliders
// reshape the bars here, without a request: p ∝ exp(logit / T) over the k largest logits. "Morceau suivant"
// draws one piece from that reshaped distribution (seeded: the same seed draws the same piece), appends its id
// and asks again for that model only.
"use strict";

const SHOWN = 10;
const inspector = { prompt: "", models: {}, drawn: { lstm: [], transformer: [] }, attention: null, busy: false,
                    shownOnce: false };

document.addEventListener("DOMContentLoaded", () => {
  $("lm-inspect-go").addEventListener("click", () => inspectFresh(readyModelsFromPage()));
  for (const id of ["lm-slider-temperature", "lm-slider-top-k"]) $(id).addEventListener("input", onSlider);
  for (const button of document.querySelectorAll(".next-piece")) {
    button.addEventListener("click", () => nextPiece(button.dataset.model));
  }
  $("lm-layer").addEventListener("change", drawAttention);
  $("lm-head").addEventListener("change", drawAttention);
  $("lm-attention").addEventListener("mousemove", attentionDetail);
  onSlider();
  // The first time the tab is shown, inspect the default prompt with the models the server has.
  const first = async () => {
    if (inspector.shownOnce) return;
    inspector.shownOnce = true;
    const ready = await readyModels();
    if (ready.length) inspectFresh(ready);
  };
  document.addEventListener("tab-shown", (event) => { if (event.detail === "lm") first(); });
  if (location.hash === "#lm") first();
  document.addEventListener("lm-race", () => { if (inspector.shownOnce) inspectFresh(readyModelsFromPage()); });
  document.addEventListener("experiment-chosen", (event) => { if (event.detail === "lm") inspectFresh(readyModelsFromPage()); });
});

// The models whose files are there (GET /health), so that a missing one is said once, by the section's notice.
async function readyModels() {
  try {
    const sections = (await (await fetch("/health")).json()).sections || {};
    inspector.ready = ["lstm", "transformer"].filter((name) => sections[`lm_${name}`] && sections[`lm_${name}`].ready);
  } catch (err) {
    inspector.ready = [];
  }
  return inspector.ready;
}

function readyModelsFromPage() {
  const chosen = experimentModels("lm");  // an experiment's models in the cache
  if (chosen) return chosen;
  return inspector.ready && inspector.ready.length ? inspector.ready : ["lstm", "transformer"];
}

function settings() {
  const temperature = Number($("lm-slider-temperature").value);
  const topK = Number($("lm-slider-top-k").value);
  return { temperature, topK };
}

function onSlider() {
  const { temperature, topK } = settings();
  $("lm-slider-temperature-value").textContent = temperature.toFixed(2);
  $("lm-slider-top-k-value").textContent = String(topK);
  // The generation above uses the same settings.
  $("lm-temperature").value = String(temperature);
  $("lm-top-k").value = String(topK);
  for (const name of Object.keys(inspector.models)) drawCandidates(name);
}

// Probabilities of the candidates after temperature and top-k (0 beyond the k kept).
function reshape(candidates, temperature, topK) {
  const kept = candidates.slice(0, Math.min(topK, candidates.length));
  const top = kept[0].logit;
  const weights = kept.map((c) => Math.exp((c.logit - top) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return candidates.map((c, i) => (i < kept.length ? weights[i] / total : 0));
}

// A piece as the reader can see it: spaces and line breaks made visible, a lone byte by its name.
function visible(piece) {
  if (!piece.text || piece.text.includes("\ufffd")) return piece.name;
  return piece.text.replace(/ /g, "␣").replace(/\n/g, "↵");
}

function percent(p) {
  const value = 100 * p;
  return value >= 0.1 || value === 0 ? `${value.toFixed(1)} %` : `${value.toPrecision(2)} %`;
}

function inspectColumn(name) {
  const node = document.querySelector(`[data-inspect="${name}"]`);
  return { node, text: node.querySelector(".explored"), list: node.querySelector(".candidates"),
           next: node.querySelector(".next-piece") };
}

function drawCandidates(name) {
  const answer = inspector.models[name];
  const col = inspectColumn(name);
  const { temperature, topK } = settings();
  const probabilities = reshape(answer.candidates, temperature, topK);
  const items = answer.candidates.slice(0, SHOWN).map((candidate, i) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "bar-label piece-label";
    label.textContent = visible(candidate);
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = probabilities[i];
    bar.setAttribute("aria-label", `probabilité de « ${visible(candidate)} »`);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = percent(probabilities[i]);
    value.title = `modèle seul (température 1, tout le vocabulaire) : ${percent(candidate.p)}`;
    item.dataset.p = String(probabilities[i]);
    item.append(label, bar, value);
    return item;
  });
  col.list.replaceChildren(...items);
}

function drawExplored(name) {
  const col = inspectColumn(name);
  const prompt = document.createElement("span");
  prompt.className = "prompt-echo";
  prompt.textContent = inspector.prompt || "↵";
  prompt.title = "le début du texte";
  const pieces = inspector.drawn[name].map((piece, i) => {
    const span = document.createElement("span");
    span.className = i % 2 ? "piece even" : "piece odd";
    span.textContent = piece.text;
    span.title = `tiré avec p = ${percent(piece.p)}`;
    return span;
  });
  col.text.replaceChildren(prompt, ...pieces);
}

function showScore(name, answer, evaluate) {
  const parameters = Number(answer.parameters).toLocaleString("fr-FR");
  const score = answer.test_bpc !== null && answer.test_bpc !== undefined
    ? `test : ${String(answer.test_bpc).replace(".", ",")} bits par caractère (moins, c'est mieux)`
    : `score de test inconnu : lancez « ${evaluate} »`;
  const text = `${parameters} paramètres · ${score}`;
  for (const node of document.querySelectorAll(`[data-score="${name}"]`)) node.textContent = text;
  const cropped = answer.cropped ? ` (il ne lit que ses ${answer.tokens.length} derniers morceaux : ${answer.cropped} oubliés)` : "";
  inspectColumn(name).node.querySelector("h4").textContent = `${name === "lstm" ? "LSTM" : "Transformer"} · ${parameters} paramètres${cropped}`;
}

async function requestInspection(body) {
  const response = await fetch("/lm/inspect" + experimentQuery("lm"), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}

function accept(answer) {
  for (const [name, model] of Object.entries(answer.models)) {
    inspector.models[name] = model;
    showScore(name, model, answer.evaluate);
    drawCandidates(name);
    drawExplored(name);
    inspectColumn(name).next.disabled = false;
  }
  if (answer.attention) showAttention(answer.attention);
}

async function run(work) {
  if (inspector.busy) return;
  inspector.busy = true;
  $("lm-inspect-go").disabled = true;
  for (const button of document.querySelectorAll(".next-piece")) button.disabled = true;
  showMessage($("lm-inspect-error"), "");
  try {
    await work();
  } catch (err) {
    showMessage($("lm-inspect-error"), failureMessage(err, "L'inspection a échoué."));
  } finally {
    inspector.busy = false;
    $("lm-inspect-go").disabled = false;
    for (const name of Object.keys(inspector.models)) inspectColumn(name).next.disabled = false;
  }
}

function inspectFresh(models) {
  return run(async () => {
    const prompt = $("lm-prompt").value;
    const answer = await requestInspection({ prompt, models });
    inspector.prompt = prompt;
    inspector.drawn = { lstm: [], transformer: [] };
    accept(answer);
  });
}

// mulberry32: a small seeded generator, so that the same seed draws the same pieces.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nextPiece(name) {
  return run(async () => {
    const answer = inspector.models[name];
    const { temperature, topK } = settings();
    const probabilities = reshape(answer.candidates, temperature, topK);
    const seed = Math.abs(Math.trunc(Number($("lm-seed").value) || 0)) % 4294967296;
    const step = inspector.drawn[name].length;
    const u = seeded((seed + Math.imul(step + 1, 0x9E3779B1)) >>> 0)();
    let chosen = 0;
    for (let sum = 0; chosen < probabilities.length; chosen++) {
      sum += probabilities[chosen];
      if (u < sum) break;
    }
    const candidate = answer.candidates[Math.min(chosen, Math.min(topK, answer.candidates.length) - 1)];
    const drawn = [...inspector.drawn[name], { id: candidate.id, text: candidate.text, p: probabilities[chosen] || 0 }];
    const next = await requestInspection({ prompt: inspector.prompt, continuation: drawn.map((d) => d.id), models: [name] });
    inspector.drawn[name] = drawn;
    accept(next);
  });
}

// The attention heatmap: row = the piece that looks (query), column = the piece it looks at (key).
function showAttention(attention) {
  const keep = (select, count, label) => {
    const before = Number(select.value) || 0;
    select.replaceChildren(...Array.from({ length: count }, (_, i) => {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = `${label} ${i + 1}`;
      return option;
    }));
    select.value = String(Math.min(before, count - 1));
  };
  keep($("lm-layer"), attention.layers, "couche");
  keep($("lm-head"), attention.heads, "tête");
  inspector.attention = attention;
  drawAttention();
}

const LABEL_SPACE = 64;  // pixels for the pieces' names left of and above the map

function cellSize(tokens) {
  return Math.max(6, Math.min(28, Math.floor(560 / tokens)));
}

function drawAttention() {
  const attention = inspector.attention;
  if (!attention) return;
  const layer = Number($("lm-layer").value), head = Number($("lm-head").value);
  const weights = attention.weights[layer][head];
  const count = attention.tokens.length;
  const cell = cellSize(count);
  const canvas = $("lm-attention");
  canvas.width = canvas.height = LABEL_SPACE + count * cell;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  for (let q = 0; q < count; q++) {
    for (let k = 0; k < count; k++) {
      if (k > q) {
        context.fillStyle = "#eeeeee";  // the future: never looked at
      } else {
        const w = Math.sqrt(weights[q][k]);  // a square root shows the small weights too
        context.fillStyle = `rgb(${Math.round(255 - 101 * w)}, ${Math.round(255 - 203 * w)}, ${Math.round(255 - 237 * w)})`;
      }
      context.fillRect(LABEL_SPACE + k * cell, LABEL_SPACE + q * cell, cell - (cell > 8 ? 1 : 0), cell - (cell > 8 ? 1 : 0));
    }
  }
  if (cell >= 8) {
    context.fillStyle = "#1f2328";
    context.font = `${Math.min(12, cell)}px ui-monospace, monospace`;
    context.textBaseline = "middle";
    attention.tokens.forEach((token, i) => {
      const name = visible(token).slice(0, 7);
      context.textAlign = "right";
      context.fillText(name, LABEL_SPACE - 4, LABEL_SPACE + i * cell + cell / 2);
      context.save();
      context.translate(LABEL_SPACE + i * cell + cell / 2, LABEL_SPACE - 4);
      context.rotate(-Math.PI / 2);
      context.textAlign = "left";
      context.fillText(name, 0, 0);
      context.restore();
    });
  }
  canvas.dataset.layer = String(layer);
  canvas.dataset.head = String(head);
  canvas.dataset.tokens = String(count);
}

function attentionDetail(event) {
  const attention = inspector.attention;
  if (!attention) return;
  const canvas = $("lm-attention");
  const box = canvas.getBoundingClientRect();
  const x = (event.clientX - box.left) * canvas.width / box.width - LABEL_SPACE;
  const y = (event.clientY - box.top) * canvas.height / box.height - LABEL_SPACE;
  const cell = cellSize(attention.tokens.length);
  const q = Math.floor(y / cell), k = Math.floor(x / cell);
  if (q < 0 || k < 0 || q >= attention.tokens.length || k >= attention.tokens.length) return;
  const weight = attention.weights[Number($("lm-layer").value)][Number($("lm-head").value)][q][k];
  $("lm-attention-detail").textContent = k > q
    ? `« ${visible(attention.tokens[q])} » ne peut pas regarder « ${visible(attention.tokens[k])} » : il vient après.`
    : `« ${visible(attention.tokens[q])} » (n° ${q + 1}) regarde « ${visible(attention.tokens[k])} » (n° ${k + 1}) à ${percent(weight)}.`;
}
