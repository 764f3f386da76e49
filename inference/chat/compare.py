"""One question answered by several bundles, side by side (``ctchat ask --bundle A --bundle B``).

Researchers compare models by hand today. Each bundle is loaded in turn (one model in memory at
a time: two 4B models at once do not fit a 16 GB workstation), reads the scan by its own recipe,
answers, and (when asked) computes its occlusion relevance; a bundle that cannot answer (a scan
outside what its recipe accepts, a damaged file) gets its one sentence in place of an answer and
the others still answer. The results export together: one CSV row per model, a long CSV of the
per-slice values of every strip, and a self-contained HTML page.

Example:
    >>> results = ask_models(["default", "~/bundles/medgemma"], volume, Question("open", "Where?"))  # doctest: +SKIP
    >>> write_comparison(results, "compare/")                                                      # doctest: +SKIP
"""

from __future__ import annotations

import csv
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..bundle import BundleError, load_bundle, model_notice
from ..io.volume import Volume
from ..llm.errors import LLMError
from ..question import Question
from ..slices.recipe import SliceRecipeError
from .open_session import open_session
from .relevance import NoRelevance, SliceRelevance, occlusion_relevance
from .scan_cache import ScanCache
from .session import Answer


@dataclass
class ModelAnswer:
    """One bundle's answer to the shared question (``error``: why it gave none)."""

    bundle: str
    summary: dict = field(default_factory=dict)
    answer: Answer | None = None
    relevance: SliceRelevance | None = None
    relevance_note: str = ""
    sent_slices: list[int] = field(default_factory=list)  # a slice set's stored slices (from 0)
    error: str = ""

    def row(self, scan_id: str) -> dict:
        """One CSV row: what the model said and where it looked."""
        a = self.answer
        return {
            "scan_id": scan_id, "bundle": self.bundle, "question": a.question.shown if a else "",
            "task": a.task if a else "", "answer": a.text if a else "", "error": self.error,
            "choice": a.choice.letter if a and a.choice else "",
            "yes_probability": round(a.yes_probability, 4) if a and a.task == "yes_no" and not math.isnan(a.yes_probability) else "",
            "tgis_top_slices": " ".join(str(k + 1) for k in a.top_slices[:6]) if a else "",
            "occlusion_top_slices": " ".join(map(str, self.relevance.record()["top_slices"])) if self.relevance else "",
            "sent_slices": " ".join(str(k + 1) for k in self.sent_slices),
            "notes": " | ".join(a.notes) if a else "", "seconds": round(a.timings.get("total", 0.0), 3) if a else "",
        }


def ask_models(bundles: Sequence[str | Path], volume: Volume, question: Question, max_tokens: int = 128,
               relevance: bool = False, slices: int | None = None, device: str = "auto",
               scan_cache: ScanCache | None = None,
               on_model: Callable[[str], None] | None = None) -> list[ModelAnswer]:
    """``question`` about ``volume`` asked of each bundle in turn (see the module docstring)."""
    results = []
    for name in bundles:
        result = ModelAnswer(str(name))
        try:
            bundle = load_bundle(name)
            result.bundle, result.summary = bundle.name, bundle.summary()
            if on_model is not None:
                on_model(bundle.name)
            session = open_session(bundle, device=device, scan_cache=scan_cache, slices=slices)
            try:
                session.load_scan(volume)
                result.answer = session.ask(question, max_tokens)
                result.sent_slices = list(getattr(session, "sent_slices", []))
                if relevance:
                    try:
                        result.relevance = occlusion_relevance(session, result.answer)
                    except NoRelevance as exc:
                        result.relevance_note = str(exc)
            finally:
                session.close()
        except (BundleError, LLMError, SliceRecipeError) as exc:  # this model cannot answer: say why, go on
            result.error = str(exc)
        results.append(result)
    return results


def write_comparison(results: Sequence[ModelAnswer], folder: str | Path, scan_id: str = "") -> list[Path]:
    """``comparison.csv`` (a row per model), ``comparison_slices.csv`` (scan_id, bundle,
    question, method, stored_slice from 1, value) and ``comparison.html`` in ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r.row(scan_id) for r in results]
    paths = [out / "comparison.csv", out / "comparison_slices.csv", out / "comparison.html"]
    with open(paths[0], "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["bundle"])
        writer.writeheader()
        writer.writerows(rows)
    with open(paths[1], "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["scan_id", "bundle", "question", "method", "stored_slice", "value"])
        for r in results:
            for method, values in _strips(r):
                writer.writerows([scan_id, r.bundle, r.answer.question.shown, method, k + 1, round(float(v), 6)]
                                 for k, v in enumerate(values))
    paths[2].write_text(comparison_html(results, scan_id), encoding="utf-8")
    return paths


def _strips(result: ModelAnswer) -> list[tuple[str, list[float]]]:
    strips = []
    if result.answer is not None and result.answer.original_scores is not None:
        strips.append(("tgis", list(result.answer.original_scores)))
    if result.relevance is not None:
        strips.append(("occlusion", list(result.relevance.original)))
    return strips


def comparison_html(results: Sequence[ModelAnswer], scan_id: str = "") -> str:
    """A self-contained page: the question, then each model's answer, notes and strips."""
    e = html.escape
    question = next((r.answer.question.shown for r in results if r.answer), "")
    parts = ["<!doctype html><meta charset='utf-8'><title>ctchat: answers side by side</title>",
             "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
             ".m{display:inline-block;vertical-align:top;width:31%;margin-right:1%;border:1px solid #999;"
             "padding:.5em}.note{color:#a60}.err{color:#a00}</style>",
             f"<h1>One question, {len(results)} models</h1><p><b>Q:</b> {e(question)}</p>",
             f"<p><small>scan {e(scan_id)}; each model answered from the scan alone, one model at a time; "
             "every answer is shown as the model wrote it</small></p>"]
    for r in results:
        parts.append(f"<div class='m'><h2>{e(r.bundle)}</h2>")
        if r.error:
            parts.append(f"<p class='err'>{e(r.error)}</p></div>")
            continue
        s = r.summary
        parts.append(f"<p><small>{e(model_notice(bool(s.get('trained')), s.get('notice', '')))}</small></p>")
        parts.append(f"<p><b>A:</b> {e(r.answer.text)}</p>")
        parts += [f"<p class='note'>⚠ {e(n)}</p>" for n in r.answer.notes]
        if r.sent_slices:
            parts.append(f"<p><i>{len(r.sent_slices)} stored slices sent as images</i></p>")
        for method, values in _strips(r):
            parts.append(f"<p><i>{method}:</i> {_svg_strip(values)}</p>")
        if r.relevance_note:
            parts.append(f"<p class='note'>{e(r.relevance_note)}</p>")
        parts.append("</div>")
    parts.append(f"<script type='application/json' id='data'>{e(json.dumps([r.row(scan_id) for r in results]))}</script>")
    return "\n".join(parts)


def _svg_strip(values: list[float], width: int = 300, height: int = 18) -> str:
    """A strip of the values along the stored slices (slice 1 at the left), darker = higher."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    w = width / len(values)
    cells = "".join(f"<rect x='{n * w:.2f}' width='{w + 0.5:.2f}' height='{height}' "
                    f"fill-opacity='{(v - lo) / span:.3f}'/>" for n, v in enumerate(values))
    return f"<svg width='{width}' height='{height}' style='border:1px solid #999'>{cells}</svg>"
