// The retrieval section: GET /search shows each passage with its dense, lexical and fused scores, file
// and page, and the sentence that answers best highlighted (<mark> built with textContent, never HTML).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); runSearch(); });
});

async function runSearch() {
  const q = $("search-q").value.trim();
  if (!q) { showMessage($("search-error"), "Écrivez une question d'abord."); return; }
  showMessage($("search-error"), "");
  const list = $("search-results");
  list.setAttribute("aria-busy", "true");
  try {
    const query = new URLSearchParams({ q, k: $("search-k").value });
    const response = await fetch(`/search?${query}`);
    if (!response.ok) throw new Error(await errorMessage(response));
    const body = await response.json();
    list.replaceChildren(...body.results.map(passageItem));
    if (!body.results.length) showMessage($("search-error"), "Aucun passage trouvé.");
  } catch (err) {
    showMessage($("search-error"), failureMessage(err, "La recherche a échoué."));
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function passageItem(result) {
  const item = document.createElement("li");
  item.className = "passage";
  const where = document.createElement("p");
  where.className = "passage-where";
  where.textContent = result.page === null ? result.file : `${result.file}, page ${result.page}`;
  const scores = document.createElement("p");
  scores.className = "passage-scores";
  const s = result.scores;
  scores.textContent = `dense ${s.dense.toFixed(3)} · lexical ${s.lexical.toFixed(2)} · fusionné ${s.fused.toFixed(3)}`;
  item.append(where, scores, passageText(result));
  return item;
}

// The passage with its best sentence in a <mark>; a sentence joined from a list (not verbatim in the
// passage) is shown highlighted above the passage instead.
function passageText(result) {
  const text = document.createElement("p");
  text.className = "passage-text";
  const sentence = result.sentence;
  // Found here rather than with the server's offsets: those count code points, JavaScript UTF-16 units.
  const start = sentence ? result.text.indexOf(sentence.text) : -1;
  if (start >= 0) {
    const mark = document.createElement("mark");
    mark.textContent = sentence.text;
    mark.title = `meilleure phrase · cosinus ${sentence.score.toFixed(3)}`;
    text.append(result.text.slice(0, start), mark, result.text.slice(start + sentence.text.length));
    return text;
  }
  text.textContent = result.text;
  if (!sentence) return text;
  const wrapper = document.createElement("div");
  const best = document.createElement("p");
  const mark = document.createElement("mark");
  mark.textContent = sentence.text;
  mark.title = `meilleure phrase · cosinus ${sentence.score.toFixed(3)}`;
  best.append(mark);
  wrapper.append(best, text);
  return wrapper;
}
