"""What the Models dialog lists, without Qt: the installed bundles (the built-in default and
everything ``ctchat pull`` put in :func:`inference.models.store.models_dir`) with their cards,
and the catalogue's models not installed yet with what pulling them costs.

The figures come from :mod:`inference.models.store` (what is on disk) and
:mod:`inference.models.catalogue` (what the catalogue says; an estimate keeps its ``*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inference.models.catalogue import CatalogueEntry, human_bytes, load_catalogue
from inference.models.store import InstalledBundle, builtin, installed

KIND_WORDS = {"slice_set": "slice set (2D slices)", "volume_3d": "3D volume"}
ESTIMATE_NOTE = "* an estimate, not a measurement"


@dataclass(frozen=True)
class ModelCard:
    """One row of the dialog: a name, whether it is installed, and its card as (label, value)
    lines."""

    name: str
    installed: bool
    builtin: bool = False
    lines: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def label(self) -> str:
        """The row's text in the list."""
        if self.builtin:
            return f"{self.name}  (built in)"
        return self.name if self.installed else f"{self.name}  (not installed)"

    def text(self) -> str:
        """The card as plain lines (``label: value``)."""
        return "\n".join(f"{label}: {value}" for label, value in self.lines)


def installed_card(row: InstalledBundle) -> ModelCard:
    """The card of an installed bundle: its store row and what its manifest says (the bundle is
    read with its vision files checked; one that does not load says why on its card)."""
    from inference.bundle import load_bundle

    lines = [("Name", row.name), ("Source", row.source), ("Size", human_bytes(row.size_bytes)),
             ("Licence", row.licence or "not stated"), ("Scope", row.scope)]
    try:
        summary = load_bundle(row.path).summary()
    except Exception as exc:  # noqa: BLE001 - a damaged bundle is still listed, with why it does not load
        lines.append(("Does not load", str(exc)))
    else:
        lines.insert(1, ("Kind", KIND_WORDS.get(summary["kind"], summary["kind"])))
        lines.insert(2, ("Version", str(summary["version"])))
        lines.append(("Trained", "yes" if summary["trained"] else "no: untrained weights, answers are noise"))
        if summary.get("intended_use"):
            lines.append(("Intended use", summary["intended_use"]))
        if summary.get("tasks"):
            lines.append(("Tasks", ", ".join(summary["tasks"])))
    lines.append(("Path", row.path))
    return ModelCard(row.name, True, row.builtin, tuple(lines))


def catalogue_card(entry: CatalogueEntry) -> ModelCard:
    """The card of a catalogue model not installed yet: what pulling it costs and its terms."""
    lines = [("Name", entry.name), ("Title", entry.title), ("Source", entry.repo),
             ("Kind", KIND_WORDS.get(entry.kind, entry.kind)),
             ("Download", entry.size_text("download_bytes")), ("Bundle", entry.size_text("bundle_bytes")),
             ("Memory", entry.memory_text()), ("Speed on the CPU", entry.speed_text("speed_cpu")),
             ("Speed on a GPU", entry.speed_text("speed_gpu")), ("Trained for", entry.trained_for or "not stated"),
             ("Licence", entry.licence)]
    if entry.terms_url:
        lines.append(("Terms", entry.terms_url))
    if entry.gated:
        lines.append(("Gated", "accept its terms on the Hub and set HF_TOKEN or run `hf auth login` first"))
    lines.append(("Note", ESTIMATE_NOTE))
    return ModelCard(entry.name, False, False, tuple(lines))


def model_cards() -> list[ModelCard]:
    """The built-in default, the installed bundles by name, then the catalogue's models that
    are not installed, in the catalogue's order."""
    rows = [builtin(), *installed()]
    names = {row.name for row in rows}
    return [*(installed_card(row) for row in rows),
            *(catalogue_card(entry) for entry in load_catalogue() if entry.name not in names)]
