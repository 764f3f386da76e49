"""Data paths and event helpers for the GUI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import Qt

from inference.resources import data_dir, shared_ct_dir

DATA = shared_ct_dir()
A0001_DICOM = DATA / "dicom" / "chest_lungdx_A0001_5mm"
A0001_NIFTI = DATA / "nifti" / "chest_lungdx_A0001_5mm_dcm2niix.nii.gz"
GAP_DICOM = DATA / "tiny" / "monai_CT_DICOM_16x16"
SMALL_NIFTI = DATA / "nifti" / "abdomen_totalseg_example_ct_sm_3mm_30sl.nii.gz"
CT5N_DICOM = DATA / "tiny" / "pydicom_dicomdirtests_CT5N"


# The model files (the assembled GGUF, the text-vector cache) are shared with the user's data
# folder: rebuilding them in each test's private folder costs ~20 s. Recent files stay private.
REAL_DATA_DIR = data_dir()  # read at import, before the fixtures point it elsewhere


def model_data_dir(tmp: Path) -> Path:
    """A private data folder whose ``models`` and ``cache`` link to the real ones."""
    tmp.mkdir(parents=True, exist_ok=True)
    for name in ("models", "cache"):
        (REAL_DATA_DIR / name).mkdir(parents=True, exist_ok=True)
        if not (tmp / name).exists():
            (tmp / name).symlink_to(REAL_DATA_DIR / name, target_is_directory=True)
    return tmp


def need(path: Path) -> Path:
    """Skip the test when a data file is missing (the data folder is not shipped)."""
    if not path.exists():
        pytest.skip(f"test data missing: {path}")
    return path


def wheel(widget: QtWidgets.QWidget, steps: int = 1, pos: QtCore.QPointF | None = None) -> None:
    """Send a mouse-wheel event (one notch = 120) to ``widget``."""
    pos = pos or QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    ev = QtGui.QWheelEvent(
        pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())), QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120 * steps), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(widget, ev)


def mouse(widget: QtWidgets.QWidget, kind: QtCore.QEvent.Type, pos: QtCore.QPointF,
          button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    """Send one mouse press/move/release at ``pos`` (widget coordinates)."""
    buttons = Qt.MouseButton.NoButton if kind == QtCore.QEvent.Type.MouseButtonRelease else button
    if kind == QtCore.QEvent.Type.MouseMove and button == Qt.MouseButton.NoButton:
        buttons = Qt.MouseButton.NoButton
    ev = QtGui.QMouseEvent(kind, pos, QtCore.QPointF(widget.mapToGlobal(pos.toPoint())),
                           button if kind != QtCore.QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
                           buttons, Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, ev)


def drag(widget: QtWidgets.QWidget, start: QtCore.QPointF, end: QtCore.QPointF,
         button: Qt.MouseButton, steps: int = 4) -> None:
    """Press at ``start``, move to ``end`` in ``steps`` moves, release."""
    mouse(widget, QtCore.QEvent.Type.MouseButtonPress, start, button)
    for n in range(1, steps + 1):
        t = n / steps
        p = QtCore.QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        mouse(widget, QtCore.QEvent.Type.MouseMove, p, button)
    mouse(widget, QtCore.QEvent.Type.MouseButtonRelease, end, button)


def drop_paths(widget: QtWidgets.QWidget, paths) -> bool:
    """Drag ``paths`` onto ``widget`` and drop them (enter, then drop, as a real drag does).

    Returns whether the drag was accepted on enter.
    """
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    enter = QtGui.QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime,
                                  Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, enter)
    drop = QtGui.QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QtWidgets.QApplication.sendEvent(widget, drop)
    return enter.isAccepted()


def load(qtbot, win, path, expect: str = "loaded", timeout: int = 60000):
    """Open ``path`` in ``win`` and wait for the load to finish with ``expect``."""
    with qtbot.waitSignal(win.loadFinished, timeout=timeout) as blocker:
        win.open_path(str(path))
    assert blocker.args == [expect], win.message_bar.label.text()
    return win
