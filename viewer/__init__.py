"""Desktop viewer of ctchat: Qt + VTK windows, views and workers that call into :mod:`inference`.

Nothing here does model math or reads files directly: scans are loaded through
:func:`inference.io.load_volume` in a worker thread.
"""
