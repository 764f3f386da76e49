"""Question dependence: do a bundle's slice strips change with the question asked of one scan?

``ctchat eval --question-dependence`` keeps, for every answer of the bundle's column, its two
strips over the stored slices: TG-IS's scores (bundles with a question graph) and occlusion
relevance (:mod:`inference.chat.relevance`, one more pass per slab). On each scan (an eval
case: one volume, asked every question kind it has), every pair of questions of different
kinds (``kind/task``: ``location/open`` and ``location/choice`` are two) is compared by the
Pearson correlation of their strips; the figure is the mean over a scan's pairs, averaged over
scans. Near 1: the strip is about the scan whatever is asked; lower: it follows the question.

A strip that is constant (every slice alike: nothing to correlate) leaves its pairs out; the
counts of pairs that entered are reported beside the figures.

Example:
    >>> dependence = QuestionDependence()                                   # doctest: +SKIP
    >>> evaluate(session, cases, dependence=dependence)                     # doctest: +SKIP
    >>> dependence.summary()["occlusion"]                                   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

METHODS = ("tgis", "occlusion")
SPARK = "▁▂▃▄▅▆▇█"  # one character per slice group: the strips printed as a text figure
SPARK_WIDTH = 64


@dataclass
class ScanStrips:
    """The strips of one scan's answers, one entry per question kind (the first asked)."""

    label: str
    kinds: list[str] = field(default_factory=list)
    strips: dict[str, list[np.ndarray | None]] = field(default_factory=lambda: {m: [] for m in METHODS})


class QuestionDependence:
    """Collects strips scan by scan (:meth:`start_scan`, then :meth:`add` after each answer)."""

    def __init__(self) -> None:
        self.scans: list[ScanStrips] = []
        self.reasons: set[str] = set()  # why occlusion was missing, where it was

    def start_scan(self, label: str) -> None:
        """The answers that follow are about a new scan."""
        self.scans.append(ScanStrips(label))

    def add(self, session, qa, answer) -> None:
        """Keep ``answer``'s strips (its TG-IS scores; its occlusion relevance, computed now on
        ``session``, which must have just given it)."""
        from inference.chat.relevance import NoRelevance, occlusion_relevance
        from inference.llm.errors import LLMError

        scan = self.scans[-1]
        kind = f"{qa.kind}/{qa.task}"
        if kind in scan.kinds:
            return  # a kind asked twice of one scan: its first answer stands for it
        try:
            occlusion = np.asarray(occlusion_relevance(session, answer).original, dtype=np.float64)
        except (NoRelevance, LLMError) as exc:
            occlusion = None
            self.reasons.add(str(exc))
        tgis = None if answer.original_scores is None else np.asarray(answer.original_scores, dtype=np.float64)
        scan.kinds.append(kind)
        scan.strips["tgis"].append(tgis)
        scan.strips["occlusion"].append(occlusion)

    def summary(self) -> dict:
        """``{"tgis": r, "occlusion": r, "n_scans", "n_pairs", ...}`` (r null where no pair of
        that method could be correlated), with every scan's strips for a plot."""
        asked = [s for s in self.scans if len(s.kinds) >= 2]
        out: dict = {"n_scans": len(asked), "n_pairs": sum(len(s.kinds) * (len(s.kinds) - 1) // 2 for s in asked)}
        used: dict[str, int] = {}
        for method in METHODS:
            per_scan = [scan_correlation(s.strips[method]) for s in asked]
            kept = [(r, n) for r, n in per_scan if n]
            out[method] = round(float(np.mean([r for r, _ in kept])), 4) if kept else None
            used[method] = sum(n for _, n in kept)
        out["n_pairs_correlated"] = used
        out["meaning"] = ("mean Pearson r between the slice strips of different question kinds on the same scan, "
                          "averaged over scans (1: the same strip whatever is asked)")
        if self.reasons:
            out["occlusion_reason"] = "; ".join(sorted(self.reasons))
        out["scans"] = [{"scan": s.label, "kinds": s.kinds,
                         **{m: [None if v is None else [round(float(x), 5) for x in v] for v in s.strips[m]]
                            for m in METHODS}} for s in asked]
        return out


def scan_correlation(strips: list[np.ndarray | None]) -> tuple[float, int]:
    """The mean Pearson r over the pairs of ``strips`` that can be correlated (both present,
    neither constant), and how many pairs that was (0: the r means nothing)."""
    rs = []
    for a, b in combinations(strips, 2):
        if a is None or b is None or len(a) != len(b) or np.ptp(a) == 0 or np.ptp(b) == 0:
            continue
        rs.append(float(np.corrcoef(a, b)[0, 1]))
    return (float(np.mean(rs)) if rs else float("nan")), len(rs)


def sparkline(values: np.ndarray, width: int = SPARK_WIDTH) -> str:
    """A strip as text, slice 1 at the left, higher = taller (scaled to its own range; a
    longer strip is averaged into ``width`` groups of slices)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) > width:
        v = np.array([chunk.mean() for chunk in np.array_split(v, width)])
    span = np.ptp(v)
    levels = np.zeros(len(v), int) if span == 0 else np.round((v - v.min()) / span * (len(SPARK) - 1)).astype(int)
    return "".join(SPARK[k] for k in levels)


def report_lines(summary: dict) -> list[str]:
    """The figures for ``ctchat eval``'s text output, and the first scan's strips as a figure."""
    def fmt(r: float | None) -> str:
        return "none" if r is None else f"{r:.3f}"

    used = summary["n_pairs_correlated"]
    lines = [f"question dependence (Pearson r between the strips of different question kinds on the same scan, "
             f"mean over {summary['n_scans']} scans, {summary['n_pairs']} pairs; 1: the same strip whatever is asked):",
             f"  TG-IS {fmt(summary['tgis'])} ({used['tgis']} pairs), "
             f"occlusion {fmt(summary['occlusion'])} ({used['occlusion']} pairs)"]
    if summary.get("occlusion_reason"):
        lines.append(f"  occlusion: {summary['occlusion_reason']}")
    if summary["scans"]:
        first = summary["scans"][0]
        lines.append(f"  strips of {first['scan']} (stored slices left to right; each scaled to its own range; "
                     "--json has every scan's):")
        for method in METHODS:
            for kind, values in zip(first["kinds"], first[method]):
                if values is not None:
                    lines.append(f"    {method:<9} {kind:<20} {sparkline(np.array(values))}")
    return lines
