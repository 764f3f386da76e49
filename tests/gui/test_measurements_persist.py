"""Measurements stay with their scan: drawn on the A0001 chest, put aside when another scan
opens, drawn again when the chest comes back (also in a new window, after the viewer closed),
listed, and written to the report and a CSV; a measurements file that cannot be read or written
is said in the status bar."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from chat_helpers import wait_for
from gui_helpers import A0001_DICOM, SMALL_NIFTI, drag, need
from PySide6.QtCore import Qt

from viewer.models.reading import Tool

pytestmark = pytest.mark.gui


def load(win, path) -> None:
    """Open ``path`` in ``win`` and wait until it is shown."""
    win.open_path(str(path))
    assert wait_for(win.loadFinished) == ["loaded"], win.message_bar.label.text()


def draw_ruler_and_ellipse(win) -> None:
    """A ruler and an ellipse ROI on the axial view's slice."""
    k = win.axial.slice_index
    win.set_tool(Tool.RULER)
    drag(win.axial.canvas, win.axial.widget_point_of((k, 100, 90)), win.axial.widget_point_of((k, 380, 430)),
         Qt.MouseButton.LeftButton)
    win.set_tool(Tool.ELLIPSE)
    drag(win.axial.canvas, win.axial.widget_point_of((k, 200, 120)), win.axial.widget_point_of((k, 300, 260)),
         Qt.MouseButton.LeftButton)
    win.set_tool(Tool.NAVIGATE)


def test_measurements_survive_reopening_and_reach_the_report(chest, tmp_path):
    win, vol = chest, chest.scan.volume
    need(SMALL_NIFTI)
    k = win.axial.slice_index
    draw_ruler_and_ellipse(win)
    before = win.measurements.sr_items()
    assert [i["kind"] for i in before] == ["length", "roi"]
    assert win.measurements.list.count() == 2 and "Length" in win.measurements.list.item(0).text()
    length = before[0]
    expected = np.linalg.norm(vol.index_to_world(k, 380, 430) - vol.index_to_world(k, 100, 90))
    assert length["value_mm"] == pytest.approx(expected, rel=0.01) and length["slice"] == k + 1
    a, b = np.array(length["points_lps_mm"])
    assert np.linalg.norm(b - a) == pytest.approx(length["value_mm"], abs=0.05)  # the points are the ends
    assert np.allclose(a, vol.index_to_world(k, 100, 90), atol=1.0)  # in the scan's LPS mm

    load(win, SMALL_NIFTI)  # another scan: its own, empty list
    assert not win.axial.measure.items and win.measurements.sr_items() == []
    assert win.measurements.list.count() == 0

    load(win, A0001_DICOM)  # the chest again: its measurements are back, on their slice
    after = win.measurements.sr_items()
    assert after == before
    assert len(win.axial.measure.items) == 2
    win.set_position((k, 256, 256), render_now=True)
    assert all(actor.GetVisibility() for m in win.axial.measure.items for actor in m.actors)
    assert win.axial.measure.items[1].stats.mean == pytest.approx(before[1]["mean_hu"], abs=0.01)

    report = win.export_report(tmp_path / "report.html").read_text()  # File > Export report
    assert "<h2>Measurements</h2>" in report and f"{length['value_mm']:.1f} mm" in report
    assert f"mean {before[1]['mean_hu']:.1f} HU" in report and f"axial {k + 1} (stored)" in report

    rows = list(csv.DictReader(win.measurements.write_csv(tmp_path / "m.csv").open()))
    assert [(r["kind"], r["unit"], r["slice"]) for r in rows] == [("length", "mm", str(k + 1)), ("roi", "HU", str(k + 1))]
    assert float(rows[0]["value"]) == length["value_mm"] and float(rows[1]["area_mm2"]) == before[1]["area_mm2"]

    win.tools.clear_action.trigger()  # cleared: gone for good, also after reopening
    assert win.measurements.store.for_scan(win.measurements.scan_key) == []


def test_measurements_are_back_after_the_viewer_closes(window, qtbot):
    from inference.resources import data_dir
    from viewer.window.main_window import MainWindow

    need(A0001_DICOM)
    load(window, A0001_DICOM)
    draw_ruler_and_ellipse(window)
    before = window.measurements.sr_items()
    assert [i["kind"] for i in before] == ["length", "roi"]
    key = window.measurements.scan_key
    window.close()  # the viewer closes: nothing of it stays in memory
    assert (data_dir() / "measurements" / f"{key}.json").is_file()

    again = MainWindow()  # started anew, the same scan opened
    qtbot.addWidget(again)
    again.resize(1200, 800)
    again.show()
    qtbot.waitExposed(again)
    load(again, A0001_DICOM)
    assert again.measurements.sr_items() == before
    assert len(again.axial.measure.items) == 2 and again.measurements.list.count() == 2
    again.close()


def test_a_damaged_measurements_file_is_said_in_the_status_bar(window, qtbot):
    from inference.io import load_volume, scan_identity
    from inference.resources import data_dir

    need(SMALL_NIFTI)
    folder = data_dir() / "measurements"
    folder.mkdir(parents=True, exist_ok=True)
    damaged = folder / f"{scan_identity(load_volume(SMALL_NIFTI))}.json"
    damaged.write_text("{half written")
    load(window, SMALL_NIFTI)  # opens, without measurements, and says why
    qtbot.waitUntil(lambda: "damaged" in window.statusBar().currentMessage(), timeout=5000)
    assert window.measurements.list.count() == 0 and not window.axial.measure.items
    assert damaged.with_name(damaged.name + ".bad").read_text() == "{half written"


def test_a_failed_save_is_said_in_the_status_bar_and_the_drawing_stays(chest, qtbot, tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "measurements").write_text("a file where the folder should be")
    monkeypatch.setenv("CTCHAT_DATA_DIR", str(blocked))
    draw_ruler_and_ellipse(chest)
    qtbot.waitUntil(lambda: "could not be saved" in chest.statusBar().currentMessage(), timeout=5000)
    assert chest.measurements.list.count() == 2
    assert len(chest.measurements.store.for_scan(chest.measurements.scan_key)) == 2  # kept in memory
    chest.tools.clear_action.trigger()
    assert chest.measurements.store.for_scan(chest.measurements.scan_key) == []
