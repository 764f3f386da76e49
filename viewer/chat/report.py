"""Export of a chat session as one self-contained HTML file (images embedded as base64 PNG).

Only non-identifying metadata is written: the scan's technical description, never patient
names, IDs, dates or institutions.
"""

from __future__ import annotations

import base64
import datetime
import html
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from PySide6 import QtCore, QtGui

from inference.bundle import model_notice

from ..models.chat import ModelInfo
from ..models.prior_link import PriorSummary
from ..models.scan_facts import scan_description
from ..models.transcript import Entry, Transcript
from ..views.heat_strip import strip_image

if TYPE_CHECKING:
    from inference.io import Volume


def png_base64(image: QtGui.QImage) -> str:
    """A QImage as base64-encoded PNG."""
    data = QtCore.QByteArray()
    buf = QtCore.QBuffer(data)
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return base64.b64encode(bytes(data)).decode("ascii")


def _img(image: QtGui.QImage, alt: str, css: str = "", width: int = 640) -> str:
    # width/height attributes too: Qt's rich text (the PDF) ignores CSS sizes.
    height = round(image.height() * width / max(1, image.width()))
    return (f'<img alt="{html.escape(alt)}" width="{width}" height="{height}" style="{css}" '
            f'src="data:image/png;base64,{png_base64(image)}">')


def _entry_html(n: int, entry: Entry, images: bool) -> list[str]:
    e = html.escape
    out = [f"<div class='q'><p><b>Q{n}:</b> {e(entry.shown)} <small>({e(entry.task)})</small></p>",
           f"<p><b>A:</b> {e(entry.shown_text())}</p>"]
    out += [f"<p class='note'>⚠ {e(note)}</p>" for note in entry.notes]
    if entry.choice is not None:
        out.append(f"<p>Option {entry.choice.letter}: {e(entry.choice.text)}</p>")
    if entry.model_input:  # a slice-set model: how many slices it was given
        out.append(f"<p><i>{e(entry.model_input)}</i></p>")
    if entry.scores is not None:
        out.append(f"<p><i>{e(entry.answer.top_range())} scored highest</i>"
                   + (" (slice 1 at the left)</p>" if images else "</p>"))
        if images:
            out.append(_img(strip_image(entry.scores), f"TG-IS heat strip of question {n}",
                            "image-rendering:pixelated"))
    if entry.relevance is not None:
        out.append(f"<p><i>{e(entry.occlusion_words())}</i></p>")
    out.append("</div>")
    return out


def measurements_html(items: Sequence[dict], title: str = "Measurements") -> list[str]:
    """The reader's measurements (:func:`viewer.models.measurement_records.sr_items`) as a table
    under ``title``; nothing when there are none."""
    if not items:
        return []
    e = html.escape
    out = [f"<h2>{e(title)}</h2><table><tr><th>Measurement</th><th>Value</th><th>Slice</th>"
           "<th>Points (LPS mm)</th></tr>"]
    for item in items:
        if item["kind"] == "length":
            what, value = "Length", f"{item['value_mm']:.1f} mm"
        else:
            what = "ROI"
            value = ("no voxel inside" if item["mean_hu"] is None else
                     f"mean {item['mean_hu']:.1f} HU, SD {item['std_hu']:.1f} HU, area {item['area_mm2']:.1f} mm²")
        where = f"{item['plane']} {item['slice']}" + (" (stored)" if item["plane"] == "axial" else "")
        points = " → ".join("(" + ", ".join(f"{x:.1f}" for x in p) + ")" for p in item["points_lps_mm"])
        out.append(f"<tr><td>{e(what)}</td><td>{e(value)}</td><td>{e(where)}</td><td>{e(points)}</td></tr>")
    out.append("</table>")
    return out


def report_html(entries: Sequence[Entry], volume: Volume | None, model_info: ModelInfo | None,
                screenshots: Sequence[tuple[str, QtGui.QImage]] = (), region_notice: str = "",
                others: Sequence[Transcript] = (), measurements: Sequence[dict] = (), scan_id: str = "",
                comparison: PriorSummary | None = None) -> str:
    """The report as one HTML string (see the module docstring): the scan in view with its
    transcript and the reader's measurements (``comparison``: the prior it was read beside, and
    the measurements on it), then the transcripts of the session's other scans."""
    e = html.escape
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>ctchat session report</title>",
           "<style>body{font-family:sans-serif;max-width:960px;margin:auto} td,th{padding:2px 8px;"
           "text-align:left} .warn{background:#fde0e0;color:#801010;padding:6px;font-weight:bold}"
           " .q{margin-top:1.4em;border-top:1px solid #ccc} .note{color:#8a4b00}</style></head><body>",
           "<h1>ctchat session report</h1>",
           f"<p>Written {e(datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))}. Research tool, not a medical "
           "device; not for diagnosis.</p>"]
    if model_info is not None:
        out.append(f"<p class='warn'>{e(model_notice(model_info.get('trained', False), model_info.get('summary', {}).get('notice', '')))}.</p>")
        lo, hi = model_info["hu_window"]
        out.append("<h2>Model</h2><table>")
        if model_info["slice_budget"]:  # a slice-set model: its input is slices, not one grid
            rows = {"bundle": model_info["name"], "input": model_info["input_words"],
                    **{f"recipe: {k}": v for k, v in model_info["recipe_words"].items()}}
        else:
            rows = {"bundle": model_info["name"], "input recipe": model_info["recipe"],
                    "HU window": f"[{lo:g}, {hi:g}]", "model grid (D, H, W)": " × ".join(map(str, model_info["grid"]))}
        rows |= {"vision execution providers": ", ".join(model_info["providers"]),
                 "LLM": f"llama.cpp on CPU, {model_info['threads']} thread(s)"}
        out += [f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows.items()]
        out.append("</table>")
    if volume is not None:
        out.append("<h2>Scan</h2><table>")
        out += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in scan_description(volume).items()]
        if comparison is not None:
            out.append(f"<tr><th>read beside</th><td>{e(comparison.words)}</td></tr>")
        out.append("</table>")
    if region_notice:
        out.append(f"<p class='warn'>{e(region_notice)}</p>")
    out += measurements_html(measurements)
    if comparison is not None:
        out += measurements_html(comparison.measurements, "Measurements on the prior")
    out.append("<h2>Questions</h2>")
    for n, entry in enumerate(entries, 1):
        out += _entry_html(n, entry, images=True)
    k = 0
    for other in others:  # another model's questions about this scan, or another scan's
        by = f", answered by {other.model}" if other.model else ""
        if scan_id and other.scan_id == scan_id:
            out.append(f"<h2>This scan{e(by)}</h2>")
        else:
            k += 1
            out.append(f"<h2>Other scan {k} of this session: {e(other.description)}{e(by)}</h2>")
        if other.region_notice:
            out.append(f"<p class='warn'>{e(other.region_notice)}</p>")
        for n, entry in enumerate(other.entries, 1):
            out += _entry_html(n, entry, images=False)
    if screenshots:
        out.append("<h2>Screenshots</h2>")
        for title, image in screenshots:
            out.append(f"<h3>{e(title)}</h3>{_img(image, title, 'max-width:100%;height:auto')}")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(path: str | Path, entries: Sequence[Entry], volume: Volume | None, model_info: ModelInfo | None,
                 screenshots: Sequence[tuple[str, QtGui.QImage]] = (), region_notice: str = "",
                 others: Sequence[Transcript] = (), measurements: Sequence[dict] = (), scan_id: str = "",
                 comparison: PriorSummary | None = None) -> Path:
    """Write :func:`report_html` to ``path`` (HTML), or to PDF when ``path`` ends in ``.pdf``;
    returns the path."""
    path = Path(path)
    text = report_html(entries, volume, model_info, screenshots, region_notice, others, measurements, scan_id,
                       comparison)
    if path.suffix.lower() == ".pdf":
        write_pdf(path, text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def report_document(text: str) -> QtGui.QTextDocument:
    """The report laid out by Qt's rich-text engine (A4 pages at 96 dpi), as printed to PDF."""
    doc = QtGui.QTextDocument()
    doc.setHtml(text)
    doc.setPageSize(QtCore.QSizeF(794, 1123))
    return doc


def write_pdf(path: str | Path, text: str) -> None:
    """Print the report HTML to an A4 PDF (Qt's rich text: simpler styling than a browser)."""
    writer = QtGui.QPdfWriter(str(path))
    writer.setPageSize(QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4))
    writer.setResolution(96)
    report_document(text).print_(writer)
