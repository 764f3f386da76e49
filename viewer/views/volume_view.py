"""3D volume-rendering view with CT transfer-function presets.

The mapper is chosen by the OpenGL driver: on a software rasteriser (Mesa llvmpipe/softpipe)
VTK's CPU fixed-point ray caster is 2-2.5x faster than the GPU ray caster; on real GPUs the GPU
ray caster wins. Large volumes are block-averaged down so frames stay interactive, and the view
says so.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets
from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkRenderingAnnotation import vtkCornerAnnotation
from vtkmodules.vtkRenderingCore import (
    vtkColorTransferFunction,
    vtkRenderer,
    vtkVolume,
    vtkVolumeProperty,
)

from ..models import presets
from ..models.vr_data import VRData
from .orientation_marker import OrientationMarker
from .screenshot import save_render_window_png
from .slice_overlay import add_centred_message
from .vtk_canvas import VtkCanvas
from .vtk_data import vr_image

SOFTWARE_GL = ("llvmpipe", "softpipe", "swrast", "software")
MAX_VOXELS_SOFTWARE = 256 * 256 * 64
MAX_VOXELS_GPU = 512 * 512 * 256


def is_software_renderer(gl_renderer: str) -> bool:
    """True for Mesa's CPU rasterisers (and an unknown renderer: the safe choice)."""
    name = gl_renderer.lower()
    return not name or any(s in name for s in SOFTWARE_GL)


class VolumeView(QtWidgets.QWidget):
    """Volume rendering of the scan, rotated with the left mouse button (VTK trackball)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = VtkCanvas(self)
        self.preset_box = QtWidgets.QComboBox(self)
        self.preset_box.setObjectName("vr_preset")
        for p in presets.vr_presets():
            self.preset_box.addItem(p["name"], p["id"])
        self.preset_box.setCurrentIndex(self.preset_box.findData(presets.vr_preset()["id"]))
        self.preset_box.currentIndexChanged.connect(
            lambda _i: self.set_preset(self.preset_box.currentData())
        )
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QtWidgets.QLabel("3D preset:"))
        bar.addWidget(self.preset_box)
        bar.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

        self.renderer = vtkRenderer()
        self.renderer.SetBackground(0.08, 0.08, 0.12)
        self.canvas.GetRenderWindow().AddRenderer(self.renderer)
        self.canvas._Iren.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.corner = vtkCornerAnnotation()
        self.corner.SetMaximumFontSize(13)
        self.corner.GetTextProperty().SetColor(0.8, 0.8, 0.9)
        self.corner.SetText(2, "3D")
        self.renderer.AddViewProp(self.corner)
        self.message = add_centred_message(self.renderer)  # why nothing is drawn (a single slice)
        self.marker = OrientationMarker(self.canvas._Iren)  # the patient directions, turning with the camera

        self.volume = vtkVolume()
        self.property = vtkVolumeProperty()
        self.property.SetInterpolationTypeToLinear()
        self.volume.SetProperty(self.property)
        self.mapper = None
        self.mapper_name = ""
        self.gl_renderer = ""
        self.vr: VRData | None = None
        self.preset_id = presets.vr_preset()["id"]
        self._apply_preset(presets.vr_preset(self.preset_id))

    def _choose_mapper(self) -> None:
        from vtkmodules.vtkRenderingVolume import (
            vtkFixedPointVolumeRayCastMapper,
            vtkGPUVolumeRayCastMapper,
        )

        if self.canvas.isVisible():
            self.canvas.GetRenderWindow().Render()  # creates the GL context to query
            self.gl_renderer = self.canvas.opengl_renderer()
        if is_software_renderer(self.gl_renderer):
            self._mapper_class = vtkFixedPointVolumeRayCastMapper
            self.mapper_name = "CPU ray cast"
        else:
            self._mapper_class = vtkGPUVolumeRayCastMapper
            self.mapper_name = "GPU ray cast"
        self._new_mapper()

    def _new_mapper(self) -> None:
        """A fresh mapper of the chosen kind. Each scan gets its own: the fixed-point ray caster
        keeps tables sized for the previous input, and a scan of another shape after it (a
        sagittal series of 4 slices, then a 512 x 512 axial one) segfaulted in the next render."""
        if self.mapper is not None:
            self.mapper.RemoveAllInputs()
        self.mapper = self._mapper_class()
        if self.mapper_name.startswith("CPU"):
            self.mapper.SetAutoAdjustSampleDistances(1)
        self.volume.SetMapper(self.mapper)

    def ensure_mapper(self) -> None:
        """Pick the volume mapper for this OpenGL driver (once; needs the widget shown)."""
        if self.mapper is None:
            self._choose_mapper()

    @property
    def max_voxels(self) -> int:
        """Voxel budget of the 3D view for the chosen mapper."""
        self.ensure_mapper()
        return MAX_VOXELS_SOFTWARE if self.mapper_name.startswith("CPU") else MAX_VOXELS_GPU

    def set_vr_data(self, vr: VRData, render: bool = False) -> None:
        """Show prepared (possibly downsampled) data, e.g. made in the load worker."""
        self.ensure_mapper()
        self.vr = vr
        problem = vr.problem
        if problem is not None:
            self._show_nothing(problem, render)
            return
        self.message.VisibilityOff()
        self._image = vr_image(vr)
        self._new_mapper()
        self.mapper.SetInputData(self._image)
        # Ray step tied to the voxel size: the default 1 mm oversamples a downsampled volume,
        # a whole voxel shows wood-grain rings on bone edges. At most ~1000 steps across the
        # volume, so very anisotropic spacing cannot stall the frame.
        extent = max(n * d for n, d in zip(vr.voxels.shape, vr.spacing_zyx))
        step = max(0.8 * float(min(vr.spacing_zyx)), extent / 1000.0)
        self.mapper.SetSampleDistance(step)
        if hasattr(self.mapper, "SetInteractiveSampleDistance"):
            self.mapper.SetInteractiveSampleDistance(2.0 * step)
        if self.renderer.GetVolumes().GetNumberOfItems() == 0:
            self.renderer.AddVolume(self.volume)
        nz, ny, nx = vr.full_shape
        note = self.mapper_name
        if vr.downsampled:
            sz, sy, sx = vr.voxels.shape
            note += f"\ndownsampled {nx}x{ny}x{nz} -> {sx}x{sy}x{sz}"
        self.corner.SetText(3, note)
        self.reset_camera(render=render)

    def set_orientation(self, axis_codes: str) -> None:
        """Letter the orientation cube for a volume whose (i, j, k) increase toward ``axis_codes``
        (:attr:`inference.io.Volume.orientation`, ``"LPS"`` for a volume the loader reoriented)."""
        self.marker.set_axis_codes(axis_codes)

    def _show_nothing(self, message: str, render: bool) -> None:
        """No volume in the scene (the mapper never sees data it cannot ray-cast), a message instead."""
        self.renderer.RemoveVolume(self.volume)
        self.mapper.RemoveAllInputs()
        self._image = None
        self.message.SetInput(message)
        self.message.VisibilityOn()
        self.corner.SetText(3, "")
        if render:
            self.canvas.render_now()

    def reset_camera(self, render: bool = True) -> None:
        """Anterior view, superior up (patient right on screen left, as in the coronal view)."""
        cam = self.renderer.GetActiveCamera()
        cam.SetFocalPoint(0, 0, 0)
        cam.SetPosition(0, -1, 0)
        cam.SetViewUp(0, 0, 1)
        self.renderer.ResetCamera()
        cam.Zoom(1.3)
        if render:
            self.canvas.render_now()

    def set_preset(self, preset_id: str, render: bool = True) -> None:
        """Switch transfer function (``soft_tissue``, ``bone``, ``lung``, ``angio``)."""
        self.preset_id = preset_id
        self._apply_preset(presets.vr_preset(preset_id))
        idx = self.preset_box.findData(preset_id)
        if idx != self.preset_box.currentIndex():
            self.preset_box.blockSignals(True)
            self.preset_box.setCurrentIndex(idx)
            self.preset_box.blockSignals(False)
        if render:
            self.canvas.render_now()

    def _apply_preset(self, p: dict[str, Any]) -> None:
        color = vtkColorTransferFunction()
        for hu, r, g, b in p["color"]:
            color.AddRGBPoint(hu, r, g, b)
        opacity = vtkPiecewiseFunction()
        for hu, a in p["opacity"]:
            opacity.AddPoint(hu, a)
        self.property.SetColor(color)
        self.property.SetScalarOpacity(opacity)
        if p.get("gradient_opacity"):
            grad = vtkPiecewiseFunction()
            for g, a in p["gradient_opacity"]:
                grad.AddPoint(g, a)
            self.property.SetGradientOpacity(grad)
        self.property.SetShade(1 if p.get("shade") else 0)
        self.property.SetAmbient(p.get("ambient", 0.2))
        self.property.SetDiffuse(p.get("diffuse", 0.8))
        self.property.SetSpecular(p.get("specular", 0.1))
        self.corner.SetText(2, f"3D  {p['name']}")

    def render_frame(self) -> None:
        """Render one frame now (synchronously)."""
        self.canvas.GetRenderWindow().Render()

    def save_png(self, path: str) -> None:
        """Write this view as rendered to a PNG file."""
        save_render_window_png(self.canvas.GetRenderWindow(), path)
