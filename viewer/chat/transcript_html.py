"""The transcript view's HTML: every question and answer of the scan, each answer with the
notes the runtime put beside it (outside the trained scope, uncertain, outside the trained
region), a line on what the model was given and where it looked (TG-IS; then occlusion, once
computed), and a Copy link; the answer itself is shown as the model wrote it."""

from __future__ import annotations

import html
import math

from inference.chat.scope import answers_yes_or_no

from ..models.transcript import Entry

COPY_SCHEME = "copy"  # the transcript's per-answer links: copy:<qid>


def entry_html(entry: Entry, selected: bool) -> str:
    """One question and answer, with the answer's notes beside it and its Copy link."""
    e = html.escape
    style = "background:#2a3440;" if selected else ""
    out = [f"<div style='{style}padding:4px'><a name='q{entry.qid}'></a><p><b>Q{entry.qid}:</b> {e(entry.shown)}</p>",
           f"<p><b>A:</b> {e(entry.shown_text())}"]
    if entry.answer is not None or entry.error:
        out.append(f" &nbsp;<a href='{COPY_SCHEME}:{entry.qid}'>Copy</a>")
    out.append("</p>")
    for note in entry.notes:
        out.append(f"<p style='color:#ffb347'>⚠ {e(note)}</p>")
    if entry.answer is not None:
        a = entry.answer
        where = f"{a.top_range()} scored highest" if a.top_slices else a.top_range()[:1].upper() + a.top_range()[1:]
        p_yes = a.yes_probability
        odds = f" · P(yes) {p_yes:.2f}" if answers_yes_or_no(entry.question, a.text) and not math.isnan(p_yes) else ""
        option = "" if entry.choice is None else f"Option {entry.choice.letter}: {e(entry.choice.text)} · "
        given = f"{e(entry.model_input)} · " if entry.model_input else ""  # a slice-set model's slices
        out.append(f"<p>{option}{given}<i>{e(where)}</i>{odds} · {a.n_tokens} tokens, "
                   f"{a.timings.get('total', 0.0):.1f} s</p>")
        if entry.relevance is not None:
            out.append(f"<p><i>{e(entry.occlusion_words())}</i></p>")
    out.append("</div>")
    return "".join(out)


def transcript_html(entries: list[Entry], selected: Entry | None, region_notice: str = "") -> str:
    """The whole transcript of a scan (the scan's out-of-region notice first)."""
    head = f"<p style='color:#ff8080'><b>⚠ {html.escape(region_notice)}</b></p>" if region_notice else ""
    return head + "".join(entry_html(x, x is selected) for x in entries)
