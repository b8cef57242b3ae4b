// Experiments side by side: the `dvc exp run` experiments whose models are in the DVC cache (GET /experiments)
// fill a select in the language-model and digit tabs; that tab's requests then carry ?experiment=<rev>.
"use strict";

// "" (the workspace's models) or "?experiment=<rev>" for the tab's chosen experiment.
function experimentQuery(tab) {
  const select = $(`${tab}-experiment`);
  return select && select.value ? `?experiment=${encodeURIComponent(select.value)}` : "";
}

// The models the chosen experiment has in the cache (null: the workspace's).
function experimentModels(tab) {
  const select = $(`${tab}-experiment`);
  const option = select && select.selectedOptions[0];
  return option && option.value ? option.dataset.available.split(" ") : null;
}

document.addEventListener("DOMContentLoaded", async () => {
  let listed = [];
  try {
    const response = await fetch("/experiments");
    if (!response.ok) return;
    listed = (await response.json()).experiments || [];
  } catch (err) {
    return;  // no experiments to offer: the tabs use the workspace's models
  }
  const changes = (experiment) => Object.entries(experiment.changed).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
  const score = (value, unit) => (value === undefined || value === null ? "" : ` · test ${unit(value)}`);
  // A tab offers the experiments that trained its models anew (own), not those that only carry the baseline's.
  fill("lm", listed.filter((e) => e.own.includes("lstm") || e.own.includes("transformer")), (e) => {
    const lm = e.metrics.lm || {};
    const bpc = (name) => (lm[name] ? `${name} ${String(lm[name].test_bpc).replace(".", ",")}` : "");
    return `${e.name} (${changes(e)})${score([bpc("lstm"), bpc("transformer")].filter(Boolean).join(" / ") || null, (v) => `${v} bits/car.`)}`;
  });
  fill("digit", listed.filter((e) => e.own.includes("mnist_model")), (e) => {
    const accuracy = e.metrics.mnist && e.metrics.mnist.test_accuracy;
    return `${e.name} (${changes(e)})${score(accuracy, (v) => `${(100 * v).toFixed(2).replace(".", ",")} %`)}`;
  });
});

function fill(tab, experiments, label) {
  const select = $(`${tab}-experiment`);
  if (!select || !experiments.length) return;
  for (const experiment of experiments) {
    const option = document.createElement("option");
    option.value = experiment.rev;
    option.textContent = label(experiment);
    option.dataset.available = experiment.available.filter((name) => name !== "mnist_model").join(" ") || "mnist_model";
    select.append(option);
  }
  $(`${tab}-experiment-choice`).hidden = false;
  select.addEventListener("change", () => {
    // The tab's "Indisponible" banners speak of the workspace's models, not of the experiment's (app.css).
    select.closest(".panel").classList.toggle("experiment-chosen", Boolean(select.value));
    document.dispatchEvent(new CustomEvent("experiment-chosen", { detail: tab }));
  });
}
