// The chat section: streams answers from POST /chat/stream (Server-Sent Events read from fetch, since
// EventSource cannot POST), shows the sources and plays the two voices. Every piece of text coming from
// the server or the user is put in the page with textContent, never parsed as HTML.
"use strict";

const state = { history: [], maxHistory: 20, busy: false };

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (event) => { event.preventDefault(); ask(); });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); ask(); }
  });
  $("reset").addEventListener("click", resetConversation);
  loadHealth();
});

async function loadHealth() {
  try {
    const response = await fetch("/health");
    const health = await response.json();
    if (!health.model) {  // the chat's model or index is missing: the section's notice says which stage makes them
      $("server-info").textContent = "Chatbot indisponible.";
      return;
    }
    const index = health.index.chunks !== undefined ? `${health.index.chunks} passages indexés` : "index chargé";
    $("server-info").textContent = `Modèle ${health.model.name} · ${index} · voix ${health.tts.engine}`;
    if (health.limits) {
      state.maxHistory = health.limits.max_history_messages;
      $("question").maxLength = health.limits.max_question_chars;
    }
  } catch (err) {
    $("server-info").textContent = "Serveur injoignable.";
  }
}

function resetConversation() {
  state.history = [];
  $("turns").replaceChildren();
  $("empty-hint").hidden = false;
  showError("");
  $("question").focus();
}

async function ask() {
  const question = $("question").value.trim();
  if (state.busy) return;
  if (!question) { showError("Écrivez une question d'abord."); return; }
  showError("");
  setBusy(true, "Recherche dans les documents…");
  const turn = addTurn(question);
  const history = state.history.slice(-state.maxHistory);
  try {
    const response = await fetch("/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ question, history }),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const answer = await readEvents(response, turn);
    state.history.push({ role: "user", content: question }, { role: "assistant", content: answer });
    $("question").value = "";
    setBusy(false, "");
  } catch (err) {
    turn.answer.setAttribute("aria-busy", "false");
    if (!turn.answerText.textContent) turn.answer.hidden = true;
    showError(err.message || "La réponse n'a pas pu être obtenue.");
    setBusy(false, "");
  }
  $("question").focus();
}

// Server-Sent Events (read by readServerEvents, common.js): the answer is the "done" event's.
async function readEvents(response, turn) {
  let answer = null;
  await readServerEvents(response, (event) => {
    const result = handleEvent(event, turn);
    if (result !== undefined) answer = result;
  });
  if (answer === null) throw new Error("La réponse s'est interrompue.");
  return answer;
}

function handleEvent(event, turn) {
  switch (event.name) {
    case "audio":
      if (event.data.role === "question") {
        showAudio(turn.questionAudio, event.data);
        say(turn, turn.questionAudio, "question");
        setBusy(true, "Le modèle rédige la réponse…");
      } else if (event.data.role === "answer_sentence") {
        turn.node.dataset.sentences = event.data.index + 1;
        say(turn, new Audio(event.data.url), String(event.data.index));
      } else {
        showAudio(turn.answerAudio, event.data);  // the whole answer, to replay: its sentences are being said
      }
      return undefined;
    case "token":
      turn.answerText.textContent += event.data.text;
      return undefined;
    case "sources":
      showSources(turn, event.data.sources, event.data.cited || []);
      setBusy(true, "Synthèse vocale de la réponse…");
      return undefined;
    case "done":
      turn.answerText.textContent = event.data.answer;
      turn.answer.setAttribute("aria-busy", "false");
      showTimings(turn, event.data.timings);
      return event.data.answer;
    case "error":
      throw new Error(event.data.error);
    default:
      return undefined;
  }
}

function addTurn(question) {
  $("empty-hint").hidden = true;
  const node = $("turn-template").content.firstElementChild.cloneNode(true);
  const turn = {
    node,
    answer: node.querySelector(".answer"),
    answerText: node.querySelector(".answer .text"),
    speech: Promise.resolve(),  // the clips of this turn, said one after the other
    questionAudio: node.querySelector(".question-audio"),
    answerAudio: node.querySelector(".answer-audio"),
    sources: node.querySelector(".sources"),
    sourceList: node.querySelector(".source-list"),
    timings: node.querySelector(".timings"),
  };
  node.querySelector(".question .text").textContent = question;
  turn.questionAudio.setAttribute("aria-label", "La question lue à voix haute");
  turn.answerAudio.setAttribute("aria-label", "La réponse lue à voix haute");
  $("turns").append(node);
  node.scrollIntoView({ block: "end", behavior: "smooth" });
  return turn;
}

function showAudio(audio, clip) {
  audio.src = clip.url;
  audio.hidden = false;
}

// Say a clip once everything this turn had to say before it is said; the turn's node records what
// was said, in order (data-said="question 0 1 ...").
function say(turn, audio, label) {
  if (!$("autoplay").checked) return;
  turn.speech = turn.speech.then(() => new Promise((resolve) => {
    const done = () => {
      turn.node.dataset.said = `${turn.node.dataset.said || ""} ${label}`.trim();
      resolve();
    };
    audio.addEventListener("ended", done, { once: true });
    audio.addEventListener("error", resolve, { once: true });
    audio.play().catch(resolve);  // autoplay may be refused: the controls stay
  }));
}

// The list is numbered like the answer's citations: « … 190 °C. [2] » quotes source 2.
function showSources(turn, sources, cited) {
  turn.sourceList.replaceChildren();
  for (const source of sources) {
    const item = document.createElement("li");
    if (cited.includes(source.number)) item.classList.add("cited");
    const where = document.createElement("span");
    where.className = "source-where";
    where.textContent = source.page === null ? source.file : `${source.file}, page ${source.page}`;
    const score = document.createElement("span");
    score.className = "source-score";
    score.textContent = `score ${source.score.toFixed(3)}`;
    const excerpt = document.createElement("p");
    excerpt.className = "source-excerpt";
    excerpt.textContent = source.excerpt;
    item.append(where, score, excerpt);
    turn.sourceList.append(item);
  }
  turn.sources.hidden = sources.length === 0;
  turn.sources.open = true;
}

function showTimings(turn, t) {
  const parts = [];
  if (t.first_token_s !== undefined) parts.push(`premier mot ${t.first_token_s.toFixed(1)} s`);
  if (t.tokens_per_s) parts.push(`${t.tokens_per_s.toFixed(0)} tokens/s`);
  parts.push(`total ${t.total_s.toFixed(1)} s`);
  turn.timings.textContent = parts.join(" · ");
}

function setBusy(busy, message) {
  state.busy = busy;
  $("send").disabled = busy;
  $("send").textContent = busy ? "Patientez…" : "Envoyer";
  $("status").textContent = message;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}
