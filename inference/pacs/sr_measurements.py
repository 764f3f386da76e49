"""Ruler and ROI measurements as TID 1500 measurement groups (TID 1410 planar ROIs).

A measurement is plain data, as the viewer or a script has it::

    {"kind": "length", "value_mm": 23.4, "sop_instance_uid": "1.2...", "points": [[c0, r0], [c1, r1]]}
    {"kind": "roi", "mean": 41.2, "std": 9.8, "area": 310.5, "sop_instance_uid": "1.2...",
     "points": [[c, r], ...]}

``points`` are (column, row) pixel coordinates on that slice; ``mean``/``std`` are HU and
``area`` mm². ``"slice": k`` (the stored slice counted from 1) may stand for the UID.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from .errors import PacsError

MeasurementInput = Mapping[str, Any]


def measurement_groups(measurements: Sequence[MeasurementInput], find_slice: Callable[[MeasurementInput], Dataset],
                       method_name: str) -> list:
    """One ``PlanarROIMeasurementsAndQualitativeEvaluations`` per measurement."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    mm = hd.sr.CodedConcept("mm", "UCUM", "millimeter")
    mm2 = hd.sr.CodedConcept("mm2", "UCUM", "square millimeter")
    hu = hd.sr.CodedConcept("[hnsf'U]", "UCUM", "Hounsfield unit")
    groups = []
    for number, item in enumerate(measurements, 1):
        kind = item.get("kind")
        source = find_slice(item)
        points = _points(item, number)
        if kind == "length":
            if len(points) != 2:
                raise PacsError(f"measurement {number}: a length needs two points, not {len(points)}")
            graphic, values = hd.sr.GraphicTypeValues.POLYLINE, [(codes.SCT.Length, _number(item, "value_mm", number), mm)]
        elif kind == "roi":
            if len(points) < 3:
                raise PacsError(f"measurement {number}: an ROI needs at least three points")
            if not np.array_equal(points[0], points[-1]):
                points = np.vstack([points, points[:1]])  # an SR area is a POLYLINE closed on its first point
            graphic = hd.sr.GraphicTypeValues.POLYLINE
            values = [(name, _number(item, key, number), unit) for key, name, unit in
                      (("mean", codes.SCT.Mean, hu), ("std", codes.SCT.StandardDeviation, hu), ("area", codes.SCT.Area, mm2))
                      if item.get(key) is not None]
        else:
            raise PacsError(f"measurement {number}: kind must be 'length' or 'roi', not {kind!r}")
        region = hd.sr.ImageRegion(graphic, points, hd.sr.SourceImageForRegion(
            str(source.SOPClassUID), str(source.SOPInstanceUID)))
        label = "ruler" if kind == "length" else "ROI"
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"{label} {number}"),
            referenced_region=region,
            measurements=[hd.sr.Measurement(name=name, value=value, unit=unit) for name, value, unit in values],
            method=hd.sr.CodedConcept("ctchat-" + kind, "99CTCHAT", f"{method_name} {label}")))
    return groups


def _points(item: MeasurementInput, number: int) -> np.ndarray:
    try:
        points = np.asarray(item.get("points"), dtype=np.float32)
    except (TypeError, ValueError):
        points = np.zeros((0,))
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise PacsError(f"measurement {number}: points must be a list of [column, row] pairs")
    return points


def _number(item: MeasurementInput, key: str, number: int) -> float:
    value = item.get(key)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PacsError(f"measurement {number}: {key} must be a number, not {value!r}") from None
    if not np.isfinite(out):
        raise PacsError(f"measurement {number}: {key} must be finite")
    return out
