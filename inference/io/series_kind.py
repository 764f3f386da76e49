"""What a DICOM series is: a CT volume, or images that are not one (a localizer, a capture).

Scanners export more than the reconstructed volume: scout/localizer projections, dose
reports and protocol pages saved as secondary captures, colour screenshots, summary pages
with several images at one position. Those are recognised from their headers (ImageType,
SOP class, photometric interpretation, geometry), listed apart, never chosen as the default
series and never loaded as a volume, so the model is never asked about them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dicom_scan import SliceRecord

VOLUME = "CT volume"
LOCALIZER = "localizer"
SECONDARY_CAPTURE = "secondary capture"
DOSE_REPORT = "dose report"
COLOUR = "colour image"
UNUSABLE = "cannot be loaded"

_SECONDARY_CAPTURE_SOP = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.x
# ImageType values of projection images (GE/Philips LOCALIZER, Siemens TOPOGRAM, Philips SURVIEW)
_LOCALIZER_TYPES = ("LOCALIZER", "SCOUT", "TOPOGRAM", "SURVIEW", "SCANOGRAM")
_DOSE_WORDS = ("dose", "protocol")


@dataclass(frozen=True)
class SeriesKind:
    """What a series is, and for anything but a CT volume, why it is not loaded."""

    kind: str
    reason: str = ""

    @property
    def is_volume(self) -> bool:
        """True for a series that can be shown as a CT volume and sent to the model."""
        return self.kind == VOLUME


def classify(records: list[SliceRecord]) -> SeriesKind:
    """The kind of one series, from the headers of its images (no pixel data read)."""
    first = records[0]
    found = [t for t in _LOCALIZER_TYPES if any(t in v for v in first.image_type)]
    if found:
        return SeriesKind(
            LOCALIZER,
            f"a localizer (scout) projection image (ImageType {found[0]}), not a stack of CT slices",
        )
    if first.sop_class.startswith(_SECONDARY_CAPTURE_SOP) or "SCREEN SAVE" in first.image_type:
        description = first.description.lower()
        if any(w in description for w in _DOSE_WORDS):
            return SeriesKind(DOSE_REPORT, "a dose or protocol page saved as an image, not CT slices")
        if first.samples_per_pixel > 1:
            return SeriesKind(COLOUR, "a colour screen capture, not CT slices in Hounsfield units")
        return SeriesKind(SECONDARY_CAPTURE, "a secondary capture (an image saved from a screen), not CT slices")
    photometric = str(first.dataset.get("PhotometricInterpretation", "") or "").upper()
    if first.samples_per_pixel > 1 or photometric not in ("", "MONOCHROME1", "MONOCHROME2"):
        return SeriesKind(COLOUR, f"a colour image ({photometric or 'several samples per pixel'}), not CT values")
    return SeriesKind(VOLUME)
