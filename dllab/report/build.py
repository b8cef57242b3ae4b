"""Gathering every metrics file and figure of the pipeline into one report (see document.py), in French like the
page that opens it: each measure with a target is judged against it (targets.py), and a first screen says what
was trained, how good it is, against which anchor, and which targets it met."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from dllab.chat.config import ChatParams
from dllab.errors import DataError
from dllab.rag.config import RagParams
from dllab.report import targets
from dllab.report.document import (Audio, Bullets, Details, Document, Figure, Heading, Link, Mark, Paragraph,
                                   Preformatted, Table, number)
from dllab.report.targets import Goals, Judged


def load_json(path: Path, stage: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); run `dvc repro {stage}` again") from None


def stage_record(reports: Path, stage: str) -> dict:
    """The stage's record of times and speeds (``--record`` in dvc.yaml); empty when it was not recorded."""
    path = reports / "pipeline" / f"{stage}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def figure(path: Path, stage: str, caption: str) -> Figure:
    if not path.is_file():
        raise DataError(f"{path} is missing: run `dvc repro {stage}` to make it")
    return Figure(path, caption)


@dataclass
class Line:
    """A system's line on the first screen: what was trained or measured, how good, against which anchor."""
    system: str
    anchor: str  # its section's id: the page's tabs link to /report#<anchor>
    text: str
    judged: list[Judged] = field(default_factory=list)


def percent(share: float) -> str:
    return f"{number(100 * share)}\u00a0%"


def judged_table(goals: Goals, caption: str, extra: list[list] | None = None) -> Table:
    """The section's measures against their targets, each with its verdict in words."""
    return Table(["mesure", "valeur", "objectif", "verdict"], [j.row() for j in goals.judged] + (extra or []),
                 caption=caption)


def machine_line(machine: dict) -> Paragraph:
    gpu = f", GPU {machine['gpu']}" if machine.get("gpu") else ""
    memory = machine.get("memory_gib")
    return Paragraph(f"Machine : {machine.get('cpu')}, {machine.get('cores')} cœurs, "
                     f"{number(memory) if isinstance(memory, (int, float)) else memory} Gio, "
                     f"appareil {machine.get('device', 'cpu')}{gpu}, torch {machine.get('torch')}, "
                     f"Python {machine.get('python')}.")


def params_details(shown: dict, *sections: str) -> Details:
    """The sections of the params file as written (their stages checked them), folded: long, and read rarely."""
    tables = [Table(["paramètre", "valeur"], [[f"{section}.{k}", json.dumps(v)] for k, v in (shown.get(section) or {}).items()],
                    caption=f"params.yaml : {section}") for section in sections]
    return Details(f"Paramètres (params.yaml : {', '.join(sections)})", tables)


def mnist_section(doc: Document, reports: Path, shown: dict, machine: dict) -> Line:
    metrics = load_json(reports / "mnist/metrics.json", "mnist_evaluate")
    details = load_json(reports / "mnist/details.json", "mnist_evaluate")
    training, testing = stage_record(reports, "mnist_train"), stage_record(reports, "mnist_evaluate")
    figures = reports / "mnist/figures"
    shape = "-".join(str(w) for w in [784, *details["model"]["hidden"], 10])
    goals = Goals()
    accuracy = goals("précision sur les 10 000 images de test", metrics["test_accuracy"],
                     targets.MNIST["test_accuracy"])
    goals("durée d'entraînement", training.get("train_seconds"), targets.MNIST["train_seconds"])
    doc.add(
        Heading("MNIST : un réseau entièrement connecté", id="mnist"),
        Paragraph(f"Un MLP {shape} ({number(metrics['parameters'])} paramètres) entraîné avec AdamW sur "
                  f"l'entropie croisée (CrossEntropyLoss), évalué sur les 10 000 images de test. Repère : le MLP "
                  f"784-512-512 de Keras atteint 98,40 % de précision sur le test en 20 époques ; l'objectif ici "
                  f"est au moins {targets.MNIST['test_accuracy'].goal[2:]} en au plus "
                  f"{targets.MNIST['train_seconds'].goal[2:]} d'entraînement."),
        judged_table(goals, "Les objectifs (reports/mnist/metrics.json ; durée : reports/pipeline/mnist_train.json)"),
        Table(["mesure", "valeur"], [
            ["perte sur le test (entropie croisée, nats par image)", metrics["test_loss"]],
            ["erreurs", metrics["test_errors"]],
            ["meilleure époque", metrics["best_epoch"]],
            ["secondes par époque", training.get("seconds_per_epoch")],
            ["images d'entraînement par seconde", training.get("train_images_per_second")],
            ["images lues par seconde (inférence)", testing.get("inference_images_per_second")],
        ], caption="reports/mnist/metrics.json ; temps de reports/pipeline/mnist_train.json et mnist_evaluate.json"),
        figure(figures / "training_curves.png", "mnist_evaluate",
               "Perte et précision à chaque époque, entraînement et validation"),
        figure(figures / "confusion_matrix.png", "mnist_evaluate", "Matrice de confusion sur le test"),
        Details("Par chiffre, et d'autres figures", [
            Table(["chiffre", "précision", "rappel", "images de test"],
                  [[d, c["precision"], c["recall"], c["support"]] for d, c in details["per_class"].items()],
                  caption="Par classe (reports/mnist/details.json)"),
            figure(figures / "predictions.png", "mnist_evaluate", "Des chiffres de test, vrais et prédits"),
            figure(figures / "worst_mistakes.png", "mnist_evaluate", "Les erreurs les plus sûres d'elles"),
        ]),
        params_details(shown, "mnist"),
        machine_line(details.get("machine", machine)),
    )
    return Line("Chiffres (MNIST)", "mnist",
                f"un réseau entièrement connecté {shape} lit correctement {accuracy.shown} des 10 000 chiffres "
                f"de test, jamais vus à l'entraînement ; repère : 98,40 % pour le MLP 784-512-512 de Keras.",
                goals.judged)


def lm_runs(reports: Path, models: list[str]) -> dict:
    """Each model's validation curve (its history) with the times of its evaluations (its stage record)."""
    from dllab.text.compare import run_from_files

    def history(model: str) -> str:
        path = reports / f"lm/{model}_history.csv"
        if not path.is_file():
            raise DataError(f"{path} is missing: run `dvc repro {model}_train` to make it")
        return path.read_text(encoding="utf-8")

    def record(model: str) -> str | None:
        path = reports / f"pipeline/{model}_train.json"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return {model: run_from_files(history(model), record(model)) for model in models}


def comparison(runs: dict) -> list[list]:
    """dllab.text.compare's rows (also bench/lm_compare.py's, in English), their basis said in French."""
    from dllab.text.compare import comparison_rows

    def basis(text: str) -> str:
        return text.replace("equal steps", "à pas égaux").replace("equal time", "à temps égal")

    return [[basis(first), *rest] for first, *rest in comparison_rows(runs)]


def experiment_section(doc: Document, reports: Path, shown: dict, baseline) -> None:
    """This run's language models against those of a baseline commit (``report.lm_baseline``), for the models
    whose params differ: the changed params, test bits per character, and validation bits per character at
    equal steps and at equal training time (a wider model often wins the first and loses the second)."""
    import yaml

    from dllab.text.compare import run_from_files

    metrics = load_json(reports / "lm/metrics.json", "lm_evaluate")
    runs = lm_runs(reports, [m for m in ("lstm", "transformer") if m in metrics])
    base_shown = yaml.safe_load(baseline.read("params.yaml")) or {}
    base_metrics = json.loads(baseline.read("reports/lm/metrics.json"))
    doc.add(Heading(f"Expérience : cette exécution face à {baseline.name}", level=3, id="experience"))
    changed_any = False
    for model, run in runs.items():
        # The two files as written, not through the models: the baseline's may predate them (a key renamed since).
        ours, theirs = shown.get(model) or {}, base_shown.get(model) or {}
        changed = [k for k in ours if theirs.get(k) != ours[k]]
        if not changed:
            continue
        changed_any = True
        base_run = run_from_files(baseline.read(f"reports/lm/{model}_history.csv"),
                                  baseline.read(f"reports/pipeline/{model}_train.json", missing_ok=True))
        ours_bpc, theirs_bpc = metrics[model]["test_bpc"], base_metrics[model]["test_bpc"]
        rows = [[f"{model}.{k}", json.dumps(theirs.get(k)), json.dumps(ours[k]), ""] for k in changed]
        rows.append(["bits par caractère sur le test", theirs_bpc, ours_bpc,
                     "cette exécution" if ours_bpc < theirs_bpc else "la référence"])
        rows += [[f"bits par caractère de validation {basis}", *values]
                 for basis, *values in comparison({"la référence": base_run, "cette exécution": run})]
        doc.add(Table([f"le {model}", f"référence ({baseline.name})", "cette exécution", "meilleur"], rows,
                      caption=f"reports/lm de cette exécution et de {baseline.name} (report.lm_baseline), lus "
                              f"par DVC ; temps des enregistrements des deux exécutions"))
    if not changed_any:
        doc.add(Paragraph(f"Aucun paramètre des modèles de langue ne diffère de {baseline.name} : rien à comparer."))


# The LM metrics' keys (code identifiers, kept) with what they measure and in which unit.
LM_KEYS = {"test_bpc": "bits par caractère", "test_loss_per_char": "perte par caractère, en nats",
           "test_loss_per_token": "perte par token, en nats", "test_ppl": "perplexité par token",
           "params": "paramètres", "train_steps": "pas d'entraînement", "best_step": "pas du point retenu",
           "selection_val_bpc": "bits par caractère de validation au point retenu",
           "stopped_early": "arrêté avant la fin"}


def lm_section(doc: Document, reports: Path, shown: dict, machine: dict, baseline=None) -> Line:
    metrics = load_json(reports / "lm/metrics.json", "lm_evaluate")
    samples = load_json(reports / "lm/samples.json", "lm_evaluate")
    trained = [m for m in ("lstm", "transformer") if m in metrics]
    models = trained + [m for m in ("unigram",) if m in metrics]  # the baseline, for scale
    keys = list(dict.fromkeys(k for m in models for k, v in metrics[m].items() if not isinstance(v, (dict, list))))
    better = min(trained, key=lambda m: metrics[m]["test_bpc"])
    cut = [f"le {m} s'est arrêté au pas {metrics[m]['train_steps']} sur sa limite de temps ({m}.max_seconds)"
           for m in trained if metrics[m].get("stopped_early", "no") != "no"]
    records = {m: stage_record(reports, f"{m}_train") for m in trained}
    speeds = stage_record(reports, "lm_evaluate").get("generation_tokens_per_second", {})
    loss_target, time_target = targets.LM["test_loss_per_char"], targets.LM["train_seconds"]
    goals = Goals()
    for m in trained:
        goals(f"{m} : perte par caractère sur le test, en nats (test_loss_per_char)",
              metrics[m].get("test_loss_per_char"), loss_target)
        goals(f"{m} : durée d'entraînement", records[m].get("train_seconds"), time_target)

    def value(m: str, key: str):
        v = metrics[m].get(key)
        return {"no": "non"}.get(v, v) if key == "stopped_early" else v

    doc.add(
        Heading("Modèles de langue : LSTM et Transformer sur des tokens BPE", id="lm"),
        Paragraph(f"Les deux modèles lisent les mêmes tokens BPE (SentencePiece). Le corpus est coupé en trois : "
                  f"le texte d'entraînement, un texte de validation qui choisit le point de contrôle de chaque "
                  f"modèle et trace les courbes, et un texte de test, qui ne sert à rien d'autre et donne chaque "
                  f"nombre du premier tableau (test_* ; selection_val_bpc est le score de validation qui a choisi "
                  f"le point de contrôle). Le {better} est le meilleur ici. Repère : le « baby GPT » de nanoGPT sur "
                  f"CPU atteint 1,88 nats par caractère sur tiny-shakespeare en 3 minutes environ (sa recette GPU "
                  f"1,47) ; l'objectif est au plus {loss_target.goal[2:]} par caractère, chaque modèle entraîné en "
                  f"au plus {time_target.goal[2:]}."),
        Paragraph(f"Unités : les bits par caractère (bpc) disent combien de bits il faudrait en moyenne pour coder "
                  f"chaque caractère du texte de test avec les probabilités du modèle : moins, c'est mieux. La "
                  f"perte par caractère (la perte totale, en logarithme naturel, divisée par le nombre de "
                  f"caractères) est la même mesure en nats : 1 nat = 1/ln 2 ≈ {number(1 / math.log(2), 3)} bit, "
                  f"donc l'objectif de {loss_target.goal[2:]} par caractère vaut "
                  f"{number(loss_target.threshold / math.log(2), 2)} bits par caractère. Toutes deux se comparent "
                  f"entre tokenizers, la perte par token non."),
        Paragraph("La durée d'entraînement est un nombre de pas (max_steps) ; aucun modèle n'a été coupé par une "
                  "limite de temps." if not cut else
                  "Attention : " + " ; ".join(cut) + " : ses nombres sont ceux d'un modèle en partie entraîné."),
        judged_table(goals, "Les objectifs (reports/lm/metrics.json ; durées : reports/pipeline/*_train.json)"),
        Table(["mesure (clé)", *models], [[f"{LM_KEYS.get(k, k)} ({k})", *(value(m, k) for m in models)] for k in keys],
              caption="reports/lm/metrics.json (texte de test) ; unigram : un modèle qui ne connaît que la "
                      "fréquence des tokens, pour l'échelle"),
        Table(["mesure", *trained], [
            ["secondes d'entraînement", *(records[m].get("train_seconds") for m in trained)],
            ["tokens d'entraînement par seconde", *(records[m].get("train_tokens_per_second") for m in trained)],
            ["tokens générés par seconde", *(speeds.get(m) for m in trained)],
        ], caption="Temps des dernières exécutions (reports/pipeline/*_train.json, lm_evaluate.json) : ils varient "
                   "d'une exécution à l'autre"),
        Table(["bits par caractère de validation", *trained, "meilleur"], comparison(lm_runs(reports, trained)),
              caption="Les mêmes modèles à pas égaux et à temps d'entraînement égal (courbes de validation de "
                      "reports/lm/*_history.csv, temps des enregistrements des étapes) ; `python bench/lm_compare.py` "
                      "compare de la même façon le modèle d'une expérience avec celui de la référence"),
        figure(reports / "lm/val_loss.png", "lm_evaluate", "Bits par caractère de validation, pas après pas"),
        Details("Les mêmes débuts de texte continués par les deux modèles", [
            Table(["début", *trained], [[s["prompt"], *(s[m] for m in trained)] for s in samples])]),
        params_details(shown, "tokenizer", "lstm", "transformer"),
    )
    machine_file = reports / "lm/machine.json"
    doc.add(machine_line(json.loads(machine_file.read_text()) if machine_file.is_file() else machine))
    if baseline is not None:
        experiment_section(doc, reports, shown, baseline)
    best = metrics[better]
    scale = (f", contre {number(metrics['unigram']['test_bpc'])} pour un modèle qui ne connaît que la fréquence "
             f"des tokens" if "unigram" in metrics else "")
    return Line("Modèles de langue", "lm",
                f"un LSTM et un Transformer entraînés sur Shakespeare ; le meilleur, le {better}, code le texte de "
                f"test en {number(best['test_bpc'])} bits par caractère ({number(best['test_loss_per_char'])} "
                f"nats ; moins, c'est mieux){scale} ; repère : 1,88 nats par caractère pour le « baby GPT » de nanoGPT sur CPU.",
                goals.judged)


def rag_section(doc: Document, reports: Path, shown: dict, machine: dict) -> Line:
    metrics = load_json(reports / "rag/metrics.json", "rag_evaluate")
    index = load_json(reports / "rag/index.json", "rag_index")
    questions = load_json(reports / "rag/questions.json", "rag_evaluate")
    k = metrics["k"]
    ranking = [["hybride (dense + BM25, celui utilisé)", metrics["hit_at_1"], metrics["hit_at_k"], metrics["mrr"]]]
    for name, label in [("dense_only", "dense seul (plongements)"), ("lexical_only", "lexical seul (BM25)")]:
        if name in metrics:
            ranking.append([label, metrics[name]["hit_at_1"], metrics[name]["hit_at_k"], metrics[name]["mrr"]])
    goals = Goals()
    at_k = goals(f"hit@{k} : le bon passage parmi les {k} premiers", metrics["hit_at_k"], targets.RAG["hit_at_k"])
    first = goals("hit@1 : le bon passage en premier", metrics["hit_at_1"], targets.RAG["hit_at_1"])
    doc.add(
        Heading("Base de connaissances : la recherche", id="rag"),
        Paragraph(f"{index['files']} documents en français ({index['pages']} pages) coupés en {index['chunks']} "
                  f"passages, plongés avec {index['embedding_model']} (dimension {index['dimension']}) dans un index "
                  f"ChromaDB persistant. {metrics['questions']} questions de data/eval/questions.yaml auxquelles les "
                  f"documents répondent, chacune avec les passages qui y répondent (fichier, page et texte) ; un "
                  f"succès est un passage qui en contient un. hit@{k} : part des questions dont un bon passage est "
                  f"parmi les {k} premiers trouvés ; hit@1 : part de celles dont le premier trouvé est bon ; MRR : "
                  f"moyenne de 1/rang du premier bon passage (1 s'il est premier, 0,5 deuxième…). Repère : les "
                  f"premières versions de privateGPT montrent 4 sources par réponse ; une requête Chroma prend "
                  f"quelques millisecondes."),
        judged_table(goals, "Les objectifs, pour le classement hybride (reports/rag/metrics.json)"),
        Table(["classement", "hit@1", f"hit@{k}", "MRR"], ranking, caption="reports/rag/metrics.json"),
        Table(["mesure", "valeur"], [
            ["latence d'une requête, médiane (ms)", metrics["latency_ms_p50"]],
            ["latence d'une requête, 95e centile (ms)", metrics["latency_ms_p95"]],
            ["fichiers sans texte", index["files_without_text"]],
            ["fichiers ignorés", index["files_skipped"]],
            ["dernière indexation (s)", stage_record(reports, "rag_index").get("index_seconds")],
        ], caption="reports/rag/index.json ; temps de reports/pipeline/rag_index.json"),
        Details(f"Ce que chaque question a trouvé ({len(questions)} questions)", [
            Table(["question", "rang de la réponse", "premières sources (fichier:page score)"],
                  [[q["question"], q["rank"] or "manquée",
                    "; ".join(f"{'✓ ' if h['answers'] else ''}{h['file']}:{h['page'] or '-'} {number(h['score'], 3)}"
                              for h in q["hits"])] for q in questions],
                  caption="✓ marque un passage qui répond à la question")]),
        params_details(shown, "rag"),
        machine_line(machine),
    )
    return Line("Recherche dans les documents", "rag",
                f"sur {metrics['questions']} questions, un passage qui répond est parmi les {k} premiers trouvés "
                f"pour {percent(at_k.value)} d'entre elles, en premier pour {percent(first.value)} ; repère : "
                f"privateGPT montre 4 sources par réponse.", goals.judged)


# The answers' measures (keys of reports/chat/metrics.json) in the order shown, with what they are.
ANSWER_KEYS = {"correct": "réponses correctes", "faithful": "fidèles aux passages", "french_ok": "mots français",
               "declined": "questions hors sujet déclinées", "wrongly_declined": "questions déclinées à tort",
               "first_word_s_p50": "premier mot, médiane", "first_word_s_p95": "premier mot, 95e centile",
               "latency_s_p50": "réponse entière, médiane", "latency_s_p95": "réponse entière, 95e centile"}


def answers_section(doc: Document, reports: Path, rag: RagParams, chat: ChatParams) -> Line:
    metrics = load_json(reports / "chat/metrics.json", "chat_evaluate")
    answers = load_json(reports / "chat/answers.json", "chat_evaluate")
    strategy = ("quote : la réponse prend la forme que demande la question (sa tournure, en français ou en "
                "anglais) : à une procédure répondent les étapes, dans l'ordre, de la section qui lui correspond "
                "le mieux, à une liste ses éléments ; aux autres questions au plus "
                f"{chat.answer_sentences} phrases des passages trouvés : les plus proches de la question "
                f"(plongements {rag.embedding_model}), chacune avec la phrase qui la suit dans son passage, dans "
                "l'ordre de lecture, chacune suivie du numéro de son passage ; aucun mot n'est écrit qui ne soit "
                "dans un document" if metrics["answer_mode"] == "quote" else
                f"generate : {metrics['model']} écrit la réponse à partir des passages, par llama.cpp")
    worst = [a for a in answers if (a["declined"] != a["out_of_scope"]) or not (a["correct"] or a["out_of_scope"])]
    notebook = metrics.get("notebook", [])
    kinds = metrics.get("per_kind", {})
    goals = Goals()
    for key, target in targets.ANSWERS.items():
        goals(f"{ANSWER_KEYS[key]} ({key})", metrics.get(key), target)
    check = metrics.get("check")
    if check:
        for key, target in targets.CHECK.items():
            goals(f"jeu non touché : {ANSWER_KEYS[key]} ({key})", check.get(key), target)
    untargeted = [[f"{ANSWER_KEYS[key]} ({key})", f"{number(metrics[key])} s" if key in metrics else None, "", ""]
                  for key in ("latency_s_p50", "latency_s_p95")]
    doc.add(
        Heading("Les réponses du chatbot", id="chat"),
        Paragraph(f"Chaque question de data/eval/questions.yaml ({metrics['answerable']} auxquelles les documents "
                  f"répondent, {metrics['out_of_scope']} hors sujet) est posée par le même ChatService que le "
                  f"serveur web. Correctes : la réponse dit les faits attendus ; déclinées : le chatbot répond "
                  f"« ce n'est pas dans les documents » ; une part de 0 à 1 (0,9 = 90 % des questions)."),
        judged_table(goals, "Les objectifs (reports/chat/metrics.json ; « jeu non touché » : "
                            f"{check['questions_file'] if check else 'absent'}) ; les temps sont mesurés par le "
                            "service dans cette étape, l'objectif du premier mot en HTTP : un temps manqué ici "
                            "l'est aussi en HTTP", extra=untargeted),
        *_check_table(metrics),
        *([Table(["question", "réponse (mot pour mot)", "correcte"],
                 [[n["question"], n["answer"], n["correct"]] for n in notebook],
                 caption="Les trois questions du notebook d'origine et les réponses du chatbot, mot pour mot")]
          if notebook else []),
        *([Table(["type", "avec réponse", "correctes", "déclinées à tort", "hors sujet", "déclinées"],
                 [[kind, row["answerable"], row["correct"], row["wrongly_declined"], row["out_of_scope"],
                   row["declined"]] for kind, row in kinds.items()],
                 caption="Réponses correctes par type de question (le `kind` du jeu de questions) : procédures et "
                         "listes sont ce qu'on demande d'abord à un livre de recettes")] if kinds else []),
        Details("Comment le chatbot répond et décline, et comment c'est mesuré", [Paragraph(
            f"Stratégie : {strategy}. Une question est déclinée par la phrase fixe « pas dans les documents » "
            f"quand aucune phrase de ses passages n'atteint avec elle un cosinus de chat.decline_below = "
            f"{metrics['decline_below']}, quand elle demande un nombre et que les phrases choisies n'en ont "
            "aucun, ou quand les mots de son sujet sont absents des documents ; quand l'évidence reste sous "
            f"chat.judge_above = {metrics.get('judge_above')}, le juge oui/non (un LLM instruct qui lit les "
            "phrases choisies et la question) dit si elles y répondent, et la question est déclinée quand son "
            f"P(oui) est sous chat.judge_below = {metrics.get('judge_below')} ({metrics.get('judged', 0)} questions "
            f"jugées ici ; le plus haut judge_below qui décline au plus 5 % des questions avec réponse serait "
            f"{metrics.get('judge_below_suggested')}). Définitions : correct = la réponse dit les faits attendus "
            "de la question (casse, accents, espaces, unités et nombres en lettres normalisés) ; faithful = part "
            "des phrases de la réponse trouvées mot pour mot dans un passage trouvé, ou dont au moins 80 % des "
            "mots pleins y sont (texte généré) ; french_ok = part des mots de la réponse acceptés par le "
            "dictionnaire fr_FR de hunspell (Debian hunspell-fr) ; declined / wrongly_declined = part des "
            "questions hors sujet / avec réponse déclinées ; temps mesurés par le service dans cette étape (les "
            "nombres HTTP viennent de bench/chat_server.py).")]),
        figure(reports / "chat/calibration.png", "chat_evaluate",
               f"Décliner selon le seuil, sur ce jeu de questions. Le plus haut seuil qui décline au plus 5 % des "
               f"questions avec réponse est {metrics['decline_below_suggested']} ; params.yaml utilise "
               f"{metrics['decline_below']}."),
        Details(f"Les réponses qui manquent ({len(worst)})", [
            Table(["question", "verdict", "évidence", "réponse"],
                  [[a["question"], _verdict(a), a["evidence"], a["answer"]] for a in worst[:12]],
                  caption=f"Les {min(len(worst), 12)} premières (toutes les réponses : reports/chat/answers.md)")]),
        Paragraph("Mots que le dictionnaire français n'a pas acceptés : " + (", ".join(metrics["unknown_words"]) or "aucun")),
    )
    on_check = (f" ; sur le jeu d'autres auteurs, jamais réglé dessus : {percent(check['correct'])} correctes, "
                f"{percent(check['declined'])} des hors sujet déclinées" if check else "")
    return Line("Réponses du chatbot", "chat",
                f"il répond correctement à {percent(metrics['correct'])} des {metrics['answerable']} questions "
                f"auxquelles les documents répondent et décline {percent(metrics['declined'])} des "
                f"{metrics['out_of_scope']} hors sujet, en citant les documents{on_check}.", goals.judged)


def _check_table(metrics: dict) -> list:
    """Calibrated on the pipeline's set, checked on the untouched one: both side by side."""
    check = metrics.get("check")
    if not check:
        return []
    keys = ("correct", "declined", "wrongly_declined", "judged")
    rows = [["data/eval/questions.yaml (réglé dessus)", metrics["answerable"], metrics["out_of_scope"],
             *(metrics.get(key) for key in keys)],
            [f"{check['questions_file']} (jeu non touché)", check["answerable"], check["out_of_scope"],
             *(check.get(key) for key in keys)]]
    return [Table(["jeu de questions", "avec réponse", "hors sujet", *keys], rows,
                  caption="Les seuils sont choisis sur le jeu du pipeline ; celui d'autres auteurs, jamais réglé "
                          "dessus, montre s'ils tiennent (ses réponses : reports/chat/check_answers.md)")]


def _verdict(answer: dict) -> str:
    if answer["out_of_scope"]:
        return "déclinée" if answer["declined"] else "répondue, hors sujet"
    return "déclinée à tort" if answer["declined"] else "juste" if answer["correct"] else "fausse"


def chat_section(doc: Document, reports: Path, shown: dict, chat: ChatParams, machine: dict) -> Line:
    serve = load_json(reports / "serve/metrics.json", "serve")
    doc.add(
        Heading("Chatbot vocal : le serveur", id="serve"),
        Paragraph("L'étape `serve` démarre le vrai serveur (Flask sur waitress), pose les questions de test en "
                  "HTTP et les mesure : la recherche, la réponse, et la voix de la question et de la réponse. " +
                  ("En mode quote (chat.answer_mode), la réponse est faite des phrases des documents, citées ; le "
                   "LLM est chargé mais n'écrit rien. " if chat.answer_mode == "quote" else
                   "En mode generate, le LLM écrit la réponse à partir des passages. ") +
                  "Repères : llama.cpp sur CPU fait tourner des modèles 1B Q4 à 25-40 tokens/s sur quelques "
                  "cœurs ; SmolLM2-135M génère environ 90 tokens/s seul sur 2 threads ici, en anglais : ses "
                  "réponses en français sont faibles."),
        Table(["mesure", "valeur"], [
            ["démarrage du serveur (s)", serve.get("startup_s")],
            ["premier token, moyenne (s)", serve["first_token_s"]],
            ["réponse entière, moyenne (s)", serve["latency_s"]],
            ["tokens par seconde", serve["tokens_per_s"]],
            ["secondes d'audio (questions + réponses)", serve["audio_seconds"]],
            ["facteur temps réel de la synthèse vocale (synthèse / audio)", serve["synthesis_real_time_factor"]],
            ["voix", serve.get("tts_engine")],
            ["l'audio de la première question renvoyé à /transcribe", (serve.get("transcribed") or {}).get("text")],
        ], caption="reports/serve/metrics.json"),
        *[Details(f"Q{n} : {turn['question']}", [
            Preformatted(turn["answer"]),
            Table(["source", "page", "score"], [[s["file"], s["page"], s["score"]] for s in turn["sources"]])])
          for n, turn in enumerate(serve["turns"], start=1)],
        params_details(shown, "llm", "chat"),
        machine_line(machine),
    )
    return Line("Chatbot vocal", "serve",
                f"le vrai serveur répond en HTTP aux {len(serve['turns'])} questions de test en "
                f"{number(serve['latency_s'])} s en moyenne, premier mot après {number(serve['first_token_s'])} s, "
                f"et les lit à voix haute ({serve.get('tts_engine') or 'voix'}) ; repère : llama.cpp fait tourner "
                f"des modèles 1B à 25-40 tokens/s sur CPU.")


def speech_section(doc: Document, reports: Path, shown: dict, machine: dict) -> Line:
    metrics = load_json(reports / "speech/metrics.json", "speech_evaluate")
    heard = load_json(reports / "speech/transcripts.json", "speech_evaluate")
    speed = stage_record(reports, "speech_evaluate")
    question, answer = metrics["question_voice"], metrics["answer_voice"]
    voices = {"question": "la voix des questions", "answer": "la voix des réponses"}
    goals = Goals()
    rows = []
    for role, voice in (("question", question), ("answer", answer)):
        rows.append(goals(f"{voices[role]} ({voice['voice']}) : taux d'erreur sur les mots", voice["wer"],
                          targets.SPEECH["wer"]).row())
        rows.append([f"{voices[role]} : sur les questions / sur les réponses",
                     f"{number(voice['wer_questions'])} / {number(voice['wer_answers'])}", "", ""])
        rows.append(goals(f"{voices[role]} : facteur temps réel (synthèse / audio)",
                          speed.get(f"{role}_real_time_factor"), targets.SPEECH["real_time_factor"]).row())
    rows += [
        ["une question dite, entendue par Whisper (voix des questions)", metrics["question_round_trip_wer"], "", ""],
        ["hauteur médiane des voix, question / réponse (Hz)",
         f"{number(question['pitch_hz'])} / {number(answer['pitch_hz'])}", "", ""],
        goals("l'écart entre elles", metrics["pitch_semitones_apart"],
              targets.SPEECH["pitch_semitones_apart"]).row(),
        goals("premier son d'une réponse après que son premier morceau est écrit, médiane",
              speed.get("first_audio_s_p50"), targets.SPEECH["first_audio_s"]).row(),
        ["le même, au pire (s)", speed.get("first_audio_s_max"), "", ""],
        ["facteur temps réel de Whisper base", speed.get("whisper_real_time_factor"), "", ""],
    ]
    worst = sorted(heard, key=lambda h: -h["wer"])[:8]
    clips = reports / "speech/clips"
    roles = {"question": "questions", "answer": "réponses"}
    kinds = {"question": "la première question", "answer": "la première réponse"}
    doc.add(
        Heading("Les voix : intelligibilité", id="speech"),
        Paragraph(f"L'étape `speech_evaluate` fait dire {metrics['texts']['questions']} questions de "
                  f"data/eval/questions.yaml et {metrics['texts']['answers']} réponses de référence écrites d'après "
                  f"les documents (data/eval/speech_answers.yaml) par les deux voix du moteur {metrics['engine']}, "
                  "chaque voix par les morceaux dans lesquels le chatbot dit ses textes (le premier morceau de la "
                  "voix des réponses court, comme pendant qu'une réponse arrive ; les phrases de la voix des "
                  "questions entières, comme une question se dit), et Whisper base (français) transcrit chaque "
                  "texte. Taux d'erreur sur les mots (WER) : substitutions, suppressions et insertions rapportées "
                  "aux mots de référence, après normalisation de la casse, des accents, de la ponctuation et des "
                  "nombres écrits en chiffres ; 0,2 = une erreur tous les cinq mots. Whisper se trompe lui-même sur "
                  "une voix claire, et les homophones comme « aux pommes » entendu « au pomme » comptent comme "
                  "erreurs. Les deux voix se distinguent par leur hauteur médiane (suivi par autocorrélation). "
                  "Facteur temps réel : secondes de calcul par seconde d'audio (sous 1, plus vite que la parole). "
                  "Les vitesses viennent de l'enregistrement de cette étape, mesurées sur la machine ci-dessous "
                  "pendant qu'elle tournait, quoi qu'il tournât d'autre ; `python bench/speech.py` les mesure "
                  "seules. Comparez les moteurs avec `dvc exp run -S tts.engine=espeak` puis `dvc exp show`."),
        Table(["mesure", "valeur", "objectif", "verdict"], rows,
              caption="reports/speech/metrics.json ; vitesses de reports/pipeline/speech_evaluate.json"),
        *[Audio(clips / f"{role}_voice-{kind}.wav", f"La voix des {roles[role]} dit {kinds[kind]} du banc d'essai")
          for role in ("question", "answer") for kind in ("question", "answer")
          if (clips / f"{role}_voice-{kind}.wav").is_file()],
        Details("Les textes les moins bien entendus", [
            Table(["voix", "texte", "entendu par Whisper", "WER"],
                  [[f"des {roles.get(h['voice'], h['voice'])}", h["text"], h["heard"], h["wer"]] for h in worst],
                  caption="Les pires (tous : reports/speech/transcripts.json)")]),
        params_details(shown, "tts", "stt"),
        machine_line(machine),
    )
    worst_wer = max(question["wer"], answer["wer"])
    every = (f", soit environ une erreur tous les {number(round(1 / worst_wer))} mots au pire"
             if 0 < worst_wer <= 0.5 else "")
    return Line("Voix", "speech",
                f"Whisper réentend les textes dits par les deux voix {metrics['engine']} avec un taux d'erreur sur "
                f"les mots de {number(question['wer'])} (questions) et {number(answer['wer'])} (réponses){every} ; "
                f"les deux voix sont à {number(metrics['pitch_semitones_apart'])} demi-tons l'une de l'autre.",
                goals.judged)


def pipeline_section(doc: Document, reports: Path) -> Line:
    """Each stage's last recorded wall time and peak memory (``--record``, written by dllab.cli.run), in the
    order the stages finished. The stage list comes from the records, not from dvc.yaml: DVC cannot declare
    dvc.yaml as a dependency, and a stage must read nothing it does not declare."""
    records = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((reports / "pipeline").glob("*.json"))]
    records.sort(key=lambda r: r.get("finished_at", ""))
    rows = [[r["stage"], r["seconds"], r["peak_memory_mb"], r["finished_at"]] for r in records]
    total = sum(r["seconds"] for r in records)
    goals = Goals()
    goals("somme des dernières durées des étapes", total if records else None, targets.PIPELINE["seconds"])
    peak = max(records, key=lambda r: r["peak_memory_mb"]) if records else None
    goals(f"mémoire de pointe de l'étape la plus gourmande ({peak['stage'] if peak else '–'})",
          peak["peak_memory_mb"] if peak else None, targets.PIPELINE["peak_memory_mb"])
    doc.add(
        Heading("Pipeline", id="pipeline"),
        Paragraph(f"Les étapes enregistrées sous reports/pipeline/, dans l'ordre où elles ont fini la dernière "
                  f"fois, avec la durée et la mémoire résidente de pointe de cette exécution (somme : "
                  f"{number(round(total))} s ; ces exécutions ne sont pas forcément celles d'un même `dvc repro`, "
                  f"et l'étape de ce rapport est enregistrée après qu'il est écrit). L'objectif : un `dvc repro` "
                  f"complet en au plus 20 minutes sur un CPU à 2 cœurs, aucune étape au-dessus de 4 Go."),
        judged_table(goals, "Les objectifs (reports/pipeline/*.json)"),
        Details(f"Les {len(rows)} étapes", [
            Table(["étape", "secondes", "mémoire de pointe (Mo)", "finie à (UTC)"], rows)]),
    )
    return Line("Pipeline", "pipeline",
                f"{len(records)} étapes enregistrées, {number(round(total))} s en tout pour leurs dernières "
                f"exécutions.", goals.judged)


def summary(lines: list[Line]) -> list:
    """The first screen: the count of targets met, then one plain line per system with its misses named."""
    judged = [j for line in lines for j in line.judged]
    met = sum(j.mark.met is True for j in judged)
    missed = sum(j.mark.met is False for j in judged)
    unmeasured = len(judged) - met - missed
    def plural(n: int) -> str:
        return "s" if n > 1 else ""

    count = f"{met} objectif{plural(met)} atteint{plural(met)} sur {len(judged)}" + \
        (f", {missed} manqué{plural(missed)}" if missed else "") + \
        (f", {unmeasured} non mesuré{plural(unmeasured)}" if unmeasured else "")
    items = []
    for line in lines:
        item = [Link(line.system, f"#{line.anchor}"), " : ", line.text]
        if line.judged:
            ok = sum(j.mark.met is True for j in line.judged)
            if ok == len(line.judged):
                item += [" Objectifs : ", Mark(True, f"{ok} atteints sur {ok}" if ok > 1 else "atteint"), "."]
            else:
                item += [f" Objectifs : {ok} atteint{'s' if ok > 1 else ''} sur {len(line.judged)}"]
                for j in line.judged:
                    if j.mark.met is not True:
                        item += [" ; ", j.mark, f" : {j.label}, {j.shown} pour un objectif {j.target.goal}"]
                item.append(".")
        items.append(item)
    return [Heading("En bref", id="en-bref"),
            Paragraph(f"{count}. Chaque section montre ses objectifs à côté de leur mesure, avec « ✓ atteint » "
                      f"ou « ✗ manqué »."),
            Bullets(items)]


def build(reports: Path, shown: dict, machine: dict, baseline=None, source: str = "params.yaml") -> Document:
    """The whole report; ``shown`` is the whole params file (read from ``source``), each section shown as
    written; ``baseline`` (dllab.report.baseline.Baseline) adds the experiment comparison."""
    # The values the text quotes, with their defaults, checked before any metrics file is read.
    rag = RagParams.from_mapping(shown.get("rag"), source=source)
    chat = ChatParams.from_mapping(shown.get("chat"), source=source)
    doc = Document("dllab : ce que le pipeline a appris, à quelle vitesse, à quel coût")
    lines = [mnist_section(doc, reports, shown, machine),
             lm_section(doc, reports, shown, machine, baseline),
             rag_section(doc, reports, shown, machine),
             answers_section(doc, reports, rag, chat),
             chat_section(doc, reports, shown, chat, machine),
             speech_section(doc, reports, shown, machine),
             pipeline_section(doc, reports)]
    doc.blocks[0:0] = [*summary(lines),
                       Paragraph("Construit par l'étape `report` à partir des mesures, figures et enregistrements "
                                 "de chaque étape. Comparez des expériences avec `dvc exp show`, "
                                 "`dvc metrics diff` et `dvc plots diff`.")]
    return doc
