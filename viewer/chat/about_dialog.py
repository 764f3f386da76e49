"""About this model: what the bundle says it is and what it was trained to answer."""

from __future__ import annotations

import html

from PySide6 import QtWidgets

from inference.bundle import NOT_DECLARED, TrainedScope, model_notice

from ..models.chat import ModelInfo
from ..views.read_only_dialog import fill_read_only_dialog


def about_html(info: ModelInfo) -> str:
    """The model's facts as HTML, from the chat worker's ``ready`` info (its bundle summary)."""
    e = html.escape
    summary = info["summary"]
    scope: TrainedScope = info.get("scope") or TrainedScope()
    out = [f"<h2>{e(info['name'])}</h2>",
           f"<p style='color:#ffb347'><b>{e(model_notice(info['trained'], summary.get('notice', '')))}.</b></p>",
           f"<p>{e(summary.get('intended_use', ''))}</p>",
           "<h3>What it was trained to answer</h3>"]
    if not scope.declared:
        out.append("<p>This bundle does not declare what its model was trained to answer: every answer "
                   "is marked so.</p>")
    rows = (("question tasks", scope.tasks), ("question kinds", scope.question_kinds), ("findings", scope.findings),
            ("yes/no diseases", scope.yes_no_diseases), ("body region", scope.body_region),
            ("input", scope.input), ("known limits", scope.limits), ("beside a negative answer", scope.negative_caveat))
    out.append("<table cellspacing='4'>")
    for key, value in rows:
        items = [value] if isinstance(value, str) else list(value)
        shown = "<br>".join(e(v) for v in items if v) or ("none" if scope.declared else NOT_DECLARED)
        out.append(f"<tr><th align='left' valign='top'>{e(key)}</th><td>{shown}</td></tr>")
    out.append("</table><p>An answer to anything outside this is marked \"This model was not trained to "
               "answer this\" beside it; no answer is hidden or changed.</p>")
    out.append("<h3>How it reads a scan</h3>")
    out += slice_set_reading(info) if info["slice_budget"] else volume_reading(info)
    out += question_dependence(summary.get("question_dependence"))
    projector = f"<br>Vision projector: {e(summary['projector'])}" if summary.get("projector") else ""
    out.append(f"<p>Licence: {e(summary.get('licence', ''))}<br>LLM: {e(summary.get('llm', ''))}"
               f"{', adapter ' + e(summary['lora']) if summary.get('lora') else ''}{projector}</p>")
    return "".join(out)


def question_dependence(figures: dict | None) -> list[str]:
    """One line: how much the model's slice strips change with the question (``ctchat eval
    --question-dependence``: mean correlation between the strips of different questions about
    the same scan; 1 = the same strip whatever is asked), when the bundle states it."""
    if not figures:
        return []
    said = [f"{name} r = {figures[key]:.2f}" for key, name in (("tgis", "TG-IS"), ("occlusion", "occlusion"))
            if figures.get(key) is not None]
    if not said:
        return []
    how = f" ({html.escape(figures['measured'])})" if figures.get("measured") else ""
    return [f"<p>How much its slice strips change with the question (mean correlation between the strips of "
            f"different questions about one scan; 1: the same whatever is asked): {', '.join(said)}{how}.</p>"]


def volume_reading(info: ModelInfo) -> list[str]:
    """A native-3D model's input: one recipe, window and grid for the whole volume."""
    lo, hi = info["hu_window"]
    return [f"<p>Recipe {html.escape(info['recipe'])}: HU window [{lo:g}, {hi:g}], grid "
            f"{' × '.join(str(n) for n in info['grid'])}; "
            f"{'TG-IS slice attention (the heat strip)' if info['slice_attention'] else 'no slice attention'}.</p>"]


def slice_set_reading(info: ModelInfo) -> list[str]:
    """A slice-set model's input: its recipe in words (the bundle's), the budget of this
    session, and that it has no TG-IS (what the viewer shows instead)."""
    e = html.escape
    out = [f"<p>A slice-set model: here it is given up to {info['slice_budget']} of the scan's stored axial "
           "slices as images (the recipe's budget, or less with <code>--slices</code>), by the bundle's recipe:</p>"
           "<table cellspacing='4'>"]
    out += [f"<tr><th align='left' valign='top'>{e(k)}</th><td>{e(v)}</td></tr>"
            for k, v in info["recipe_words"].items()]
    out.append("</table><p>No TG-IS slice attention: this model says nothing of where it looked, so no heat "
               "strip is drawn. The slices it was sent are marked beside the axial scroller (magenta ticks), "
               "and each answer says how many.</p>")
    return out


class AboutDialog(QtWidgets.QDialog):
    """The model's facts in a scrollable window (Help > About this model)."""

    def __init__(self, info: ModelInfo | None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About this model")
        self.setObjectName("about_model")
        self.text = QtWidgets.QTextBrowser()
        self.text.setHtml(about_html(info) if info else "<p>The model is not loaded (yet): nothing to show.</p>")
        fill_read_only_dialog(self, self.text, (640, 560))
