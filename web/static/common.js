// What the page's sections share: tabs, JSON error messages, and Server-Sent Events read from fetch
// (EventSource cannot POST). Text from the server is always put in the page with textContent.
"use strict";

const $ = (id) => document.getElementById(id);

// A refused request in plain French, with the server's own words after it (they name the field or file).
async function errorMessage(response) {
  let detail = "";
  let build = "";
  try {
    const body = await response.json();
    detail = body.error || "";
    build = body.build ? ` Pour le construire : « ${body.build} ».` : "";
  } catch (err) {
    // not JSON: the status says enough
  }
  const wait = response.headers.get("Retry-After");
  const status = response.status;
  const what = status === 503 ? "Le serveur est occupé ou indisponible"
    : status === 413 ? "La requête est trop grande"
    : status >= 500 ? `Erreur du serveur (${status}) : réessayez plus tard`
    : status === 404 ? "Introuvable"
    : "Requête refusée";
  return `${what}${detail ? ` : ${detail}` : ""}.${build}${wait ? ` Réessayez dans ${wait} s.` : ""}`.replace(/\.\./g, ".");
}

// What a failed fetch says: the browser's own words ("Failed to fetch") mean nothing to a reader.
function failureMessage(err, fallback) {
  if (err instanceof TypeError) {
    return "Le serveur ne répond pas : vérifiez qu'il tourne (python web/serve.py), puis réessayez.";
  }
  return (err && err.message) || fallback;
}

// Blocks separated by a blank line, each with "event:" and "data:" lines; onEvent({name, data}) for each.
async function readServerEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      onEvent(parseEvent(block));
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return { name, data: data.length ? JSON.parse(data.join("\n")) : {} };
}

function showMessage(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

// Tabs (WAI-ARIA pattern): arrows and Home/End move between tabs, the URL's #name opens one.
document.addEventListener("DOMContentLoaded", () => {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    history.replaceState(null, "", `#${tab.dataset.name}`);
    document.dispatchEvent(new CustomEvent("tab-shown", { detail: tab.dataset.name }));
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  });
  const fromHash = () => {
    const wanted = tabs.find((tab) => `#${tab.dataset.name}` === location.hash);
    if (wanted) select(wanted, false);
  };
  window.addEventListener("hashchange", fromHash);  // links to #digits… and the history's back and forward
  fromHash();
  loadSections();
});

// Each section says at once when its files are missing, with the command that builds them.
async function loadSections() {
  try {
    const health = await (await fetch("/health")).json();
    for (const [name, status] of Object.entries(health.sections || {})) {
      const node = document.querySelector(`[data-section-status="${name}"]`);
      if (node && !status.ready) showMessage(node, `Indisponible : lancez « ${status.build} » (${status.missing.join(", ")} manque).`);
    }
  } catch (err) {
    // the chat section already says when the server cannot be reached
  }
}
