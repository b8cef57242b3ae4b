// The digits section: draw on a canvas (pointer events: mouse, touch and pen; arrows on the keyboard),
// send the drawing as a PNG to POST /mnist/inspect while drawing, show the ten probabilities as bars,
// the 28×28 image the network was given, what drove the decision (saliency, the most active first-layer
// units) and how unsure it is (entropy: the network always picks a digit, even for a dot).
"use strict";

const PEN = 18;           // stroke width on the 280×280 canvas, about an MNIST stroke after scaling
const KEY_STEP = 14;      // pixels an arrow key draws
const digits = { drawing: false, last: null, dirty: false, inFlight: false, hasInk: false, cursor: null };

document.addEventListener("DOMContentLoaded", () => {
  const canvas = $("digit-canvas");
  buildBars();
  clearDrawing();
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    digits.drawing = true;
    digits.last = point(event);
    drawTo(digits.last);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!digits.drawing) return;
    // Coalesced events: the points a fast pen or finger passed between two frames.
    const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of points.length ? points : [event]) drawTo(point(e));
    requestPrediction();
  });
  const end = () => { if (digits.drawing) { digits.drawing = false; requestPrediction(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("keydown", keyDraw);
  $("digit-clear").addEventListener("click", () => { clearDrawing(); canvas.focus(); });
  // Another experiment's network: read the same drawing again.
  document.addEventListener("experiment-chosen", (event) => { if (event.detail === "digit" && digits.hasInk) requestPrediction(); });
});

function buildBars() {
  const bars = $("digit-bars");
  for (let digit = 0; digit < 10; digit++) {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = String(digit);
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", `probabilité du ${digit}`);
    const value = document.createElement("span");
    value.className = "bar-value";
    item.append(label, bar, value);
    bars.append(item);
  }
}

function point(event) {
  const canvas = $("digit-canvas");
  const box = canvas.getBoundingClientRect();  // the canvas may be drawn smaller than 280 px (phones)
  return { x: (event.clientX - box.left) * canvas.width / box.width,
           y: (event.clientY - box.top) * canvas.height / box.height };
}

function drawTo(to) {
  const context = $("digit-canvas").getContext("2d");
  const from = digits.last || to;
  context.strokeStyle = "#000";
  context.lineWidth = PEN;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  context.moveTo(from.x, from.y);
  context.lineTo(to.x, to.y + (from.x === to.x && from.y === to.y ? 0.01 : 0));  // a dot is a tiny line
  context.stroke();
  digits.last = to;
  digits.hasInk = true;
}

function keyDraw(event) {
  const moves = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
  if (event.key === "Escape" || event.key === "Delete") { event.preventDefault(); clearDrawing(); return; }
  const move = moves[event.key];
  if (!move) return;
  event.preventDefault();
  const canvas = $("digit-canvas");
  const at = digits.cursor || { x: canvas.width / 2, y: canvas.height / 3 };
  const to = { x: Math.min(Math.max(at.x + move[0] * KEY_STEP, 0), canvas.width),
               y: Math.min(Math.max(at.y + move[1] * KEY_STEP, 0), canvas.height) };
  digits.last = at;
  drawTo(to);
  digits.cursor = to;
  requestPrediction();
}

function clearDrawing() {
  const canvas = $("digit-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  $("digit-input").getContext("2d").clearRect(0, 0, 28, 28);
  digits.hasInk = false;
  digits.cursor = null;
  digits.dirty = false;
  for (const item of $("digit-bars").children) {
    item.querySelector("progress").value = 0;
    item.querySelector(".bar-value").textContent = "";
    item.classList.remove("best");
  }
  $("digit-inside").hidden = true;
  $("digit-saliency-figure").hidden = true;
  $("digit-entropy").hidden = true;
  delete $("digit-saliency").dataset.drawn;
  const prediction = $("digit-prediction");
  prediction.textContent = "Dessinez un chiffre de 0 à 9.";
  delete prediction.dataset.digit;
  showMessage($("digit-error"), "");
}

// One request at a time; strokes drawn meanwhile are sent as soon as it returns, so the last
// prediction is always of the whole drawing (data-state="idle" then).
function requestPrediction() {
  digits.dirty = true;
  $("digit-prediction").dataset.state = "busy";
  if (!digits.inFlight) predict();
}

async function predict() {
  if (!digits.dirty || !digits.hasInk) { $("digit-prediction").dataset.state = "idle"; return; }
  digits.dirty = false;
  digits.inFlight = true;
  try {
    const png = await new Promise((resolve) => $("digit-canvas").toBlob(resolve, "image/png"));
    const response = await fetch("/mnist/inspect" + experimentQuery("digit"), { method: "POST", headers: { "Content-Type": "image/png" }, body: png });
    if (!response.ok) throw new Error(await errorMessage(response));
    if (digits.hasInk) showPrediction(await response.json());
    showMessage($("digit-error"), "");
  } catch (err) {
    showMessage($("digit-error"), failureMessage(err, "La prédiction a échoué."));
  } finally {
    digits.inFlight = false;
    predict();
  }
}

function showPrediction(result) {
  const best = result.prediction;
  [...$("digit-bars").children].forEach((item, digit) => {
    const p = result.probabilities[digit];
    item.querySelector("progress").value = p;
    item.querySelector(".bar-value").textContent = `${(100 * p).toFixed(1)} %`;
    item.classList.toggle("best", digit === best);
  });
  const prediction = $("digit-prediction");
  prediction.textContent = `C'est un ${best} (${(100 * result.probabilities[best]).toFixed(0)} %)`;
  prediction.dataset.digit = String(best);
  showInput(result.input);
  showInside(result);
}

// Saliency over the network's input: the input in grey, orange where ink pushed towards the chosen digit,
// blue where it pushed away (integrated gradients, scaled so that the strongest pixel is fully coloured).
function showInside(result) {
  const context = $("digit-saliency").getContext("2d");
  const image = context.createImageData(28, 28);
  result.saliency.forEach((s, i) => {
    const grey = 90 * result.input[i];
    const a = Math.min(1, Math.abs(s));
    const colour = s >= 0 ? [234, 88, 12] : [37, 99, 235];
    image.data.set([...colour.map((c) => Math.round(grey * (1 - a) + c * a)), 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
  $("digit-saliency").dataset.drawn = "true";
  const units = result.units.map((unit) => {
    const item = document.createElement("li");
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 28;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `poids de l'unité ${unit.unit}`);
    const weights = canvas.getContext("2d").createImageData(28, 28);
    unit.weights.forEach((w, i) => {  // positive weights orange, negative blue, zero white
      const a = Math.abs(w);
      const colour = w >= 0 ? [234, 88, 12] : [37, 99, 235];
      weights.data.set([...colour.map((c) => Math.round(255 * (1 - a) + c * a)), 255], 4 * i);
    });
    canvas.getContext("2d").putImageData(weights, 0, 0);
    const label = document.createElement("span");
    label.textContent = `n° ${unit.unit} · ${unit.activation.toFixed(1)}`;
    item.append(canvas, label);
    return item;
  });
  $("digit-units").replaceChildren(...units);
  $("digit-inside").hidden = false;
  $("digit-saliency-figure").hidden = false;
  const entropy = $("digit-entropy");
  const bits = result.entropy_bits.toFixed(2).replace(".", ",");
  const most = result.max_bits.toFixed(2).replace(".", ",");
  entropy.textContent = (result.unsure
    ? `⚠ Ce n'est peut-être pas un chiffre : le réseau hésite (incertitude ${bits} bits sur ${most} au plus). `
    : `Incertitude : ${bits} bits sur ${most} au plus. `)
    + "Le réseau choisit toujours l'un des dix chiffres, même pour un point ou une lettre : une faible incertitude ne prouve pas que c'est un chiffre.";
  entropy.classList.toggle("unsure", result.unsure);
  entropy.dataset.unsure = String(result.unsure);
  entropy.hidden = false;
  $("digit-accuracy").textContent = result.test_accuracy === null || result.test_accuracy === undefined
    ? `Exactitude sur les chiffres de test inconnue : lancez « ${result.evaluate} ».`
    : `Ce réseau lit correctement ${(100 * result.test_accuracy).toFixed(2).replace(".", ",")} % des 10 000 chiffres de test de MNIST (jamais vus à l'entraînement).`;
}

// The network's input, ink white on black as in MNIST, one canvas pixel per input pixel (CSS enlarges it).
function showInput(values) {
  const context = $("digit-input").getContext("2d");
  const image = context.createImageData(28, 28);
  values.forEach((v, i) => {
    const level = Math.round(255 * v);
    image.data.set([level, level, level, 255], 4 * i);
  });
  context.putImageData(image, 0, 0);
}
