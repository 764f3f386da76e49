"""A model's answers about a scan, back into the PACS: a Comprehensive SR (TID 1500 measurement
report) and a Key Object Selection of the slices that mattered most.

The SR names the model and its bundle as the observer device, references the source study and
series (and each peak slice as an image), holds every question, answer and note as text, the
ruler/ROI measurements as TID 1500 measurements, and says in its text that a model, not a
medical device, wrote it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from .errors import PacsError, needs_extra
from .source import SourceSeries, _stored_order
from .sr_measurements import MeasurementInput, measurement_groups

DISCLAIMER = ("Written by ctchat, a machine-learning model ({model}); it is not a medical device and not a "
              "diagnosis: a clinician must check every statement against the images.")
SERIES_DESCRIPTION = "ctchat model answers (not a medical device)"
KOS_DESCRIPTION = "ctchat: slices the model weighted most (not a medical device)"
SR_SERIES_NUMBER, KOS_SERIES_NUMBER = 9901, 9902  # high numbers: after the scanner's own series


def _code(value: str, meaning: str):  # noqa: ANN202 - a highdicom CodedConcept in ctchat's private scheme
    import highdicom as hd

    return hd.sr.CodedConcept(value, "99CTCHAT", meaning)


def peak_slices(answer: Mapping[str, Any]) -> list[int]:
    """An answer's peak slices, counted from 1 on the stored slices (``ctchat ask --json``'s
    ``slice_scores.top_slices``, or ``peak_slices``)."""
    if answer.get("peak_slices") is not None:
        return [int(k) for k in answer["peak_slices"]]
    scores = answer.get("slice_scores") or {}
    if scores.get("slice_grid", "stored") != "stored":
        raise PacsError("the answer's slice numbers are not on the stored slices: the SR cannot reference them")
    return [int(k) for k in scores.get("top_slices") or []]


def _model_name(bundle_summary: Mapping[str, Any]) -> str:
    name, version = str(bundle_summary.get("name", "unknown model")), str(bundle_summary.get("version", ""))
    return f"{name} {version}".strip()


def _device_context(bundle_summary: Mapping[str, Any]):  # noqa: ANN202
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(), name=f"ctchat {bundle_summary.get('name', '')}"[:64], manufacturer_name="ctchat",
        model_name=_model_name(bundle_summary)[:64])
    return hd.sr.ObserverContext(observer_type=codes.cid270.Device, observer_identifying_attributes=device)


def _answer_container(number: int, answer: Mapping[str, Any], series: SourceSeries):  # noqa: ANN202
    import highdicom as hd
    from pydicom.sr.codedict import codes

    contains = hd.sr.RelationshipTypeValues.CONTAINS
    items = [hd.sr.TextContentItem(_code("Q", "Question to the model"), str(answer.get("question") or "(none)"),
                                   relationship_type=contains),
             hd.sr.TextContentItem(codes.DCM.Finding, str(answer.get("answer") or "(no answer)"),
                                   relationship_type=contains)]
    items += [hd.sr.TextContentItem(codes.DCM.Comment, str(note), relationship_type=contains)
              for note in answer.get("notes") or [] if str(note).strip()]
    for k in peak_slices(answer):
        ds = series.slice(k)
        items.append(hd.sr.ImageContentItem(codes.DCM.KeyImages, str(ds.SOPClassUID), str(ds.SOPInstanceUID),
                                            relationship_type=contains))
    container = hd.sr.ContainerContentItem(_code("QA", f"Question and answer {number}"), relationship_type=contains)
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def answer_sr(volume_source_datasets: Sequence[Dataset] | SourceSeries, answers: Sequence[Mapping[str, Any]],
              bundle_summary: Mapping[str, Any], measurements: Sequence[MeasurementInput] = ()) -> Dataset:
    """The Comprehensive SR (not written)."""
    try:
        import highdicom as hd
        from pydicom.sr.codedict import codes
        from pydicom.uid import generate_uid
    except ImportError as exc:
        raise needs_extra("highdicom") from exc
    series = _as_series(volume_source_datasets)
    if not answers and not measurements:
        raise PacsError("nothing to report: no answers and no measurements")
    model = _model_name(bundle_summary)

    def find_slice(item: MeasurementInput) -> Dataset:
        if item.get("sop_instance_uid"):
            return series.by_sop(str(item["sop_instance_uid"]))
        if item.get("slice") is not None:
            return series.slice(int(item["slice"]))
        raise PacsError("a measurement needs its slice: sop_instance_uid or slice")

    device = _device_context(bundle_summary)
    groups = measurement_groups(measurements, find_slice, "ctchat")
    if not groups:  # TID 1500 needs one group: the answers' own, its images the peak slices
        peaks = [series.slice(k) for k in sorted({k for a in answers for k in peak_slices(a)})] or series.datasets[:1]
        groups = [hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="ctchat answers"),
            source_images=[hd.sr.SourceImageForMeasurementGroup(str(d.SOPClassUID), str(d.SOPInstanceUID))
                           for d in peaks])]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=device),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=groups,
        title=codes.cid7021.ImagingMeasurementReport)
    root = report[0]
    root.ContentSequence.append(hd.sr.TextContentItem(codes.DCM.Comment, DISCLAIMER.format(model=model),
                                                      relationship_type=hd.sr.RelationshipTypeValues.CONTAINS))
    for number, answer in enumerate(answers, 1):
        root.ContentSequence.append(_answer_container(number, answer, series))
    sr = hd.sr.ComprehensiveSR(
        evidence=series.datasets, content=root, series_instance_uid=generate_uid(), series_number=SR_SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="ctchat", is_complete=True,
        is_final=False, is_verified=False, series_description=SERIES_DESCRIPTION)
    return sr


def key_images(volume_source_datasets: Sequence[Dataset] | SourceSeries, answers: Sequence[Mapping[str, Any]],
               bundle_summary: Mapping[str, Any]) -> Dataset:
    """The Key Object Selection of every answer's peak slices."""
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    series = _as_series(volume_source_datasets)
    numbers = sorted({k for a in answers for k in peak_slices(a)})
    if not numbers:
        raise PacsError("no peak slices to select: the answers have no slice scores")
    chosen = [series.slice(k) for k in numbers]
    content = hd.ko.KeyObjectSelection(document_title=codes.DCM.OfInterest, referenced_objects=chosen,
                                       observer_device_context=_device_context(bundle_summary),
                                       description=KOS_DESCRIPTION)
    return hd.ko.KeyObjectSelectionDocument(
        evidence=chosen, content=content, series_instance_uid=generate_uid(), series_number=KOS_SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer="ctchat",
        series_description=KOS_DESCRIPTION[:64])


def write_answer_sr(volume_source_datasets: Sequence[Dataset] | SourceSeries, answers: Sequence[Mapping[str, Any]],
                    bundle_summary: Mapping[str, Any], out_path: str | Path,
                    measurements: Sequence[MeasurementInput] = (), kos_path: str | Path | None = None) -> Path:
    """Write the SR (and, with ``kos_path``, the KOS of the peak slices); the SR's path.

    Args:
        volume_source_datasets: the scan's DICOM headers (:func:`read_source_series`), any order.
        answers: ``ctchat ask --json`` objects (question, answer, notes, slice_scores).
        bundle_summary: the bundle's ``summary()`` (its name and version name the device).
        measurements: rulers and ROIs (see :mod:`.sr_measurements`).
    """
    out = Path(out_path)
    with _quiet():
        sr = answer_sr(volume_source_datasets, answers, bundle_summary, measurements)
        kos = None if kos_path is None else key_images(volume_source_datasets, answers, bundle_summary)
    _save(sr, out)
    if kos is not None:
        _save(kos, Path(kos_path))
    return out


def _as_series(datasets: Sequence[Dataset] | SourceSeries) -> SourceSeries:
    if isinstance(datasets, SourceSeries):
        return datasets
    if not datasets:
        raise PacsError("the SR needs the scan's DICOM headers: none were given")
    if len({str(d.SeriesInstanceUID) for d in datasets}) != 1:
        raise PacsError("the SR speaks of one series: the datasets given belong to several")
    return SourceSeries(_stored_order(list(datasets)))


@contextmanager
def _quiet() -> Iterator[None]:
    """highdicom warns about header values by quoting them (a patient's name): not in any log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _save(dataset: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    dataset.save_as(part, enforce_file_format=True)
    part.replace(path)
