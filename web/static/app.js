// The chat section: streams answers from POST /chat/stream (Server-Sent Events read from fetch, since
// EventSource cannot POST), shows the sources, plays the two voices through one queue for the whole
// conversation, and takes spoken questions (MediaRecorder, then POST /transcribe). Every piece of text
// coming from the server or the user is put in the page with textContent, never parsed as HTML.
"use strict";

const state = { history: [], turns: [], maxHistory: 20, maxChars: 1000, maxSeconds: 30, busy: false, stream: null,
  answerMode: "quote" };
const COUNT_FROM = 0.8;  // the character counter shows from this share of the limit

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", (event) => { event.preventDefault(); ask(); });
  $("question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); ask(); }
  });
  $("question").addEventListener("input", showCount);
  $("reset").addEventListener("click", resetConversation);
  $("stop-audio").addEventListener("click", () => { player.stop(); $("question").focus(); });
  $("autoplay").addEventListener("change", () => { if (!$("autoplay").checked) player.stop(); });
  $("mic").addEventListener("click", () => (recorder.active ? recorder.stop() : recorder.start()));
  loadHealth();
});

async function loadHealth() {
  try {
    const response = await fetch("/health");
    const health = await response.json();
    if (health.transcribe && health.transcribe.ready) {
      state.maxSeconds = health.transcribe.max_seconds;
    } else {
      $("mic").disabled = true;
      $("mic").title = "Dictée indisponible : lancez « dvc repro whisper_download ».";
    }
    if (!health.model) {  // the chat's model or index is missing: the section's notice says which stage makes them
      $("server-info").textContent = "Chatbot indisponible.";
      return;
    }
    const index = health.index.chunks !== undefined ? `${health.index.chunks} passages indexés` : "index chargé";
    $("server-info").textContent = `Modèle ${health.model.name} · ${index} · voix ${health.tts.engine}`;
    if (health.answer) state.answerMode = health.answer.mode;
    if (health.limits) {
      state.maxHistory = health.limits.max_history_messages;
      state.maxChars = health.limits.max_question_chars;
      $("question").maxLength = state.maxChars;
    }
  } catch (err) {
    $("server-info").textContent = "Serveur injoignable : lancez « python web/serve.py ».";
  }
}

function resetConversation() {
  player.stop();
  if (state.stream) state.stream.abort();
  state.history = [];
  state.turns = [];
  $("turns").replaceChildren();
  $("empty-hint").hidden = false;
  showError("");
  $("question").focus();
}

// The counter warns before the limit: the box refuses what is beyond it, never silently.
function showCount() {
  const length = $("question").value.length;
  const counter = $("question-count");
  counter.hidden = length < COUNT_FROM * state.maxChars;
  counter.classList.toggle("full", length >= state.maxChars);
  counter.textContent = length >= state.maxChars
    ? `Limite atteinte : ${state.maxChars} caractères au plus.`
    : `${length} / ${state.maxChars} caractères`;
}

async function ask() {
  const question = $("question").value.trim();
  if (state.busy) return;
  if (!question) { showError("Écrivez une question d'abord."); return; }
  player.stop();  // a new question silences what is still being said
  showError("");
  setBusy(true, "Je cherche dans les documents…");
  const turn = addTurn(question);
  const history = state.history.slice(-state.maxHistory);
  state.stream = new AbortController();
  try {
    const response = await fetch("/chat/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ question, history }),
      signal: state.stream.signal,
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const answer = await readEvents(response, turn);
    state.history.push({ role: "user", content: question }, { role: "assistant", content: answer });
    $("question").value = "";
    showCount();
  } catch (err) {
    turn.answer.setAttribute("aria-busy", "false");
    if (!turn.answerText.textContent) turn.answer.hidden = true;
    if (err.name !== "AbortError") showError(failureMessage(err, "La réponse n'a pas pu être obtenue."));
  }
  state.stream = null;
  setBusy(false, "");
  $("question").focus();
}

// Server-Sent Events (read by readServerEvents, common.js): the answer is the "done" event's.
async function readEvents(response, turn) {
  let answer = null;
  try {
    await readServerEvents(response, (event) => {
      const result = handleEvent(event, turn);
      if (result !== undefined) answer = result;
    });
  } catch (err) {
    if (err instanceof TypeError) throw new Error("La connexion au serveur a été coupée pendant la réponse.");
    throw err;
  }
  if (answer === null) throw new Error("La réponse s'est interrompue avant la fin.");
  return answer;
}

function handleEvent(event, turn) {
  switch (event.name) {
    case "queued":  // the question has its place; others may be answered first
      if (event.data.ahead > 0) {
        setBusy(true, `En attente : ${event.data.ahead} question${event.data.ahead > 1 ? "s" : ""} avant la vôtre…`);
      }
      return undefined;
    case "audio":
      if (event.data.role === "question") {
        noteHowMuchIsRead(turn, event.data.chars);
        player.say(turn, turn.questionAudio, event.data.url, "question");
        setBusy(true, "Je cherche dans les documents…");
      } else if (event.data.role === "answer_sentence") {
        turn.node.dataset.sentences = event.data.index + 1;
        player.say(turn, turn.answerAudio, event.data.url, String(event.data.index));
      } else {
        turn.wholeAnswer = event.data.url;  // the whole answer, to replay once its sentences are said
        player.settle(turn);
      }
      return undefined;
    case "token":
      if (!turn.answerText.textContent) {
        // quote mode: the answer is the documents' own sentences; generate mode: the model writes it
        setBusy(true, state.answerMode === "quote" ? "Je cite les documents…" : "Le modèle rédige la réponse…");
      }
      turn.answerText.textContent += event.data.text;
      keepInView(turn.answerText);
      return undefined;
    case "sources":
      showSources(turn, event.data.sources, event.data.cited || []);
      showAnswerNote(turn, event.data);
      setBusy(true, "Lecture de la réponse…");
      return undefined;
    case "done":
      turn.answerText.textContent = event.data.answer;
      turn.answer.setAttribute("aria-busy", "false");
      showTimings(turn, event.data.timings);
      keepInView(turn.answerText);
      return event.data.answer;
    case "error":
      throw new Error(`La réponse s'est interrompue : ${event.data.error}.`);
    default:
      return undefined;
  }
}

function addTurn(question) {
  $("empty-hint").hidden = true;
  const node = $("turn-template").content.firstElementChild.cloneNode(true);
  const turn = {
    node,
    question,
    answer: node.querySelector(".answer"),
    answerText: node.querySelector(".answer .text"),
    answerNote: node.querySelector(".answer-note"),
    questionAudio: node.querySelector(".question-audio"),
    answerAudio: node.querySelector(".answer-audio"),
    readNote: node.querySelector(".read-note"),
    sources: node.querySelector(".sources"),
    sourceList: node.querySelector(".source-list"),
    timings: node.querySelector(".timings"),
    wholeAnswer: null,
    silenced: false,
  };
  node.querySelector(".question .text").textContent = question;
  turn.questionAudio.setAttribute("aria-label", "La question lue à voix haute");
  turn.answerAudio.setAttribute("aria-label", "La réponse lue à voix haute");
  $("turns").append(node);
  state.turns.push(turn);
  keepInView(node);
  // Players and notes appear above the text as it is said: the newest text stays in sight all the same.
  sizeWatch.disconnect();
  sizeWatch.observe(node);
  return turn;
}

// The newest turn stays in sight above the question box, which sticks to the bottom of the window: the
// window scrolls just enough for the text being written to clear the box (at any width); the sources
// below it are a scroll away.
function keepInView(node) {
  const limit = $("ask-form").getBoundingClientRect().top - 8;
  const bottom = node.getBoundingClientRect().bottom;
  if (bottom > limit) window.scrollBy({ top: bottom - limit, behavior: "instant" });
}

const sizeWatch = new ResizeObserver(() => {
  const newest = state.turns[state.turns.length - 1];
  if (newest) keepInView(newest.answerText);
});

// A long question is not read whole: say how much of it the voice reads.
function noteHowMuchIsRead(turn, chars) {
  if (chars === undefined || chars >= turn.question.length) return;
  turn.readNote.textContent = `Lu à voix haute : les ${chars} premiers caractères sur ${turn.question.length}.`;
  turn.readNote.hidden = false;
}

// One queue for the whole conversation: clips are said one after the other, each in the visible player of
// its turn (the question's, or the answer's for its sentences), so the player shows what is being said.
// Stop, a new question, « Nouvelle conversation » or unticking the box stops it and drops the rest; the turns
// it silenced ask for no more clips. Each turn's node records what was said, in order (data-said).
const player = {
  queue: [],
  current: null,

  say(turn, audio, url, label) {
    if (!$("autoplay").checked || turn.silenced) return;
    this.queue.push({ turn, audio, url, label });
    if (!this.current) this.next();
  },

  next() {
    const item = this.queue.shift();
    this.current = item || null;
    $("stop-audio").hidden = !item;
    if (!item) return;
    const { turn, audio, url, label } = item;
    const finished = (said) => {
      if (this.current !== item) return;  // stopped meanwhile
      audio.classList.remove("playing");
      if (said) turn.node.dataset.said = `${turn.node.dataset.said || ""} ${label}`.trim();
      this.settle(turn);
      this.next();
    };
    audio.hidden = false;
    audio.preload = "auto";
    audio.src = url;
    audio.classList.add("playing");
    audio.onended = () => finished(true);
    audio.onerror = () => finished(false);
    audio.play().catch(() => finished(false));  // autoplay may be refused: the controls stay
  },

  // Once a turn has nothing left to say, its answer's player holds the whole answer, to replay.
  settle(turn) {
    const busy = (this.current && this.current.turn === turn) || this.queue.some((item) => item.turn === turn);
    if (busy || !turn.wholeAnswer || turn.answerAudio.src.endsWith(turn.wholeAnswer)) return;
    turn.answerAudio.preload = "none";  // fetched when the user presses play, not before
    turn.answerAudio.src = turn.wholeAnswer;
    turn.answerAudio.hidden = false;
  },

  stop() {
    const stopped = this.current;
    this.queue = [];
    this.current = null;
    $("stop-audio").hidden = true;
    for (const node of document.querySelectorAll("audio.playing")) {
      node.pause();
      node.classList.remove("playing");
    }
    for (const turn of state.turns) turn.silenced = true;  // their later clips are not asked for
    if (stopped) this.settle(stopped.turn);
  },
};
// Speech input: record with the microphone, send the recording to POST /transcribe, put the text in the
// question box to edit or send. The button toggles (Enter or Space from the keyboard).
const recorder = {
  active: null,

  async start() {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      showError("Ce navigateur ne permet pas d'enregistrer ici : ouvrez la page en http://localhost ou https.");
      return;
    }
    showError("");
    player.stop();  // the microphone would hear the voices
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      showError(err.name === "NotAllowedError" || err.name === "SecurityError"
        ? "L'accès au micro est refusé : autorisez-le pour cette page dans le navigateur, puis réessayez."
        : err.name === "NotFoundError" ? "Aucun micro n'est branché." : `Le micro ne s'ouvre pas (${err.name}).`);
      return;
    }
    const chunks = [];
    const media = new MediaRecorder(stream);
    media.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
    media.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      this.send(new Blob(chunks, { type: media.mimeType || "audio/webm" }));
    };
    const limit = setTimeout(() => this.stop(), state.maxSeconds * 1000);  // the server's limit
    this.active = { media, limit };
    media.start();
    setMic(true);
    $("status").textContent = "J'écoute… parlez, puis cliquez sur « Arrêter » (ou appuyez sur Entrée).";
  },

  stop() {
    if (!this.active) return;
    clearTimeout(this.active.limit);
    this.active.media.stop();
    this.active = null;
    setMic(false);
    $("status").textContent = "Transcription de la question…";
  },

  async send(blob) {
    if (!blob.size) {
      $("status").textContent = "";
      showError("L'enregistrement est vide : gardez le micro ouvert pendant que vous parlez.");
      return;
    }
    try {
      const response = await fetch("/transcribe", { method: "POST", headers: { "Content-Type": blob.type }, body: blob });
      if (!response.ok) throw new Error(await recordingRefused(response));
      const heard = await response.json();
      $("status").textContent = "";
      if (!heard.text) {
        showError("Je n'ai entendu aucune parole : réessayez en parlant près du micro.");
        return;
      }
      $("question").value = heard.text;
      showCount();
      $("status").textContent = "Question dictée : corrigez-la si besoin, puis Entrée pour l'envoyer.";
    } catch (err) {
      $("status").textContent = "";
      showError(failureMessage(err, "La question n'a pas pu être transcrite."));
    }
    $("question").focus();
  },
};

// Why a recording was refused, in French: the server names the problem (its message follows, in brackets).
const RECORDING_PROBLEMS = {
  empty: "L'enregistrement est vide : gardez le micro ouvert pendant que vous parlez",
  unreadable: "L'enregistrement est illisible : réessayez, ou écrivez la question",
  too_long: "L'enregistrement est trop long : posez une question plus courte",
  too_large: "L'enregistrement est trop gros : posez une question plus courte",
};

async function recordingRefused(response) {
  const body = await response.clone().json().catch(() => ({}));
  const french = RECORDING_PROBLEMS[body.problem];
  return french ? `${french} (${body.error}).` : errorMessage(response);
}

function setMic(recording) {
  const mic = $("mic");
  mic.setAttribute("aria-pressed", String(recording));
  mic.textContent = recording ? "■ Arrêter" : "🎤 Dicter";
  mic.classList.toggle("recording", recording);
}

// Say how the answer was made: quoted word for word, declined, or written by the model.
function showAnswerNote(turn, how) {
  let note = "";
  if (how.invited) note = "";
  else if (how.declined) note = "Aucun passage des documents ne répond assez précisément : les plus proches sont listés.";
  else if (how.mode === "quote") note = "Réponse citée mot pour mot des documents ; [n] renvoie à la source n.";
  else note = "Réponse rédigée par le modèle à partir des sources ci-dessous.";
  turn.answerNote.textContent = note;
  turn.answerNote.hidden = !note;
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
    // the relevance of the passage to the question (see .sources-help); null: added to complete its section
    score.textContent = source.score === null ? "même section" : `score ${source.score.toFixed(3)}`;
    score.title = "Pertinence pour la question, de 0 à 1 (sens E5 et mots communs BM25)";
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
