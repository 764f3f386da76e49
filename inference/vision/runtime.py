"""ONNX Runtime sessions for the two vision graphs: provider choice, thread settings, reporting.

CUDA is used when the installed ONNX Runtime offers ``CUDAExecutionProvider`` (the
``onnxruntime-gpu`` package) and a session actually gets it; otherwise the CPU provider. What
really runs is always read back from ``session.get_providers()``: asking for CUDA when its
libraries are missing silently gives the CPU.

Example:
    >>> rt = VisionRuntime("bundle/scan.onnx", "bundle/question.onnx")  # doctest: +SKIP
    >>> rt.providers                                                      # doctest: +SKIP
    ['CPUExecutionProvider']
    >>> scan = rt.encode_scan(volume)                 # once per scan      # doctest: +SKIP
    >>> result = rt.ask(scan, text_vector)            # per question       # doctest: +SKIP
    >>> result.slice_scores.shape                                         # doctest: +SKIP
    (32,)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def physical_cores() -> int:
    """Physical cores this process may run on (SMT siblings counted once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for c in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{c}/topology")
        try:
            cores.add((topo.joinpath("physical_package_id").read_text().strip(),
                       topo.joinpath("core_id").read_text().strip()))
        except OSError:
            return len(cpus)
    return max(1, len(cores))


def session_options(threads: int | None = None) -> Any:
    """CPU-tuned options: intra-op threads = physical cores, one inter-op thread, sequential
    execution (these graphs are chains; parallel branches only add scheduling cost), all
    graph optimisations, and the CPU memory arena with memory-pattern planning (static shapes:
    the buffers of the first run are reused by every later one)."""
    from ..ort import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or physical_cores()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_cpu_mem_arena = True
    so.enable_mem_pattern = True
    so.log_severity_level = 3  # errors only: its warnings (a node it cannot constant-fold) are not the user's
    return so


def describe_options(so: Any) -> str:
    """The session options that matter for speed, in one line."""
    return (f"intra-op threads {so.intra_op_num_threads}, inter-op {so.inter_op_num_threads}, "
            f"{so.execution_mode.name.removeprefix('ORT_').lower()}, "
            f"optimisation {so.graph_optimization_level.name.removeprefix('ORT_')}, "
            f"CPU arena {'on' if so.enable_cpu_mem_arena else 'off'}, "
            f"memory pattern {'on' if so.enable_mem_pattern else 'off'}")


def graph_fusions(session: Any) -> str:
    """The fused op counts the exporter recorded in the graph (``ctchat.vision.fusions``)."""
    raw = session.get_modelmeta().custom_metadata_map.get("ctchat.vision.fusions")
    counts = json.loads(raw) if raw else None
    if not counts:
        return "not fused"
    return ", ".join(f"{op} {n}" for op, n in counts.items() if n) or "no fused ops"


def requested_providers(device: str = "auto") -> list[Any]:
    """Providers to ask for: ``"auto"`` (CUDA if offered, then CPU), ``"cuda"`` or ``"cpu"``."""
    from ..ort import onnxruntime as ort

    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device must be auto, cuda or cpu, not {device!r}")
    offered = ort.get_available_providers()
    if device == "cpu" or (device == "auto" and CUDA not in offered):
        return [CPU]
    if device == "cuda" and CUDA not in offered:
        raise RuntimeError(f"CUDA requested but this onnxruntime offers only {offered} "
                           "(install onnxruntime-gpu instead of onnxruntime)")
    preload_cuda_libraries(ort)
    return [(CUDA, {"device_id": 0}), CPU]


def preload_cuda_libraries(ort: Any) -> None:
    """Load the CUDA and cuDNN libraries of the ``nvidia-*`` PyPI wheels (the ``gpu`` extra) so
    the CUDA provider finds them without ``LD_LIBRARY_PATH``; system ones are used when those
    are absent. Whether CUDA then really runs is read back from the session."""
    if hasattr(ort, "preload_dlls"):  # onnxruntime-gpu only
        ort.preload_dlls()


def create_session(path: str | Path, device: str = "auto", threads: int | None = None) -> Any:
    """An ``InferenceSession`` on the best available provider.

    Check ``session.get_providers()[0]`` for what really runs.
    """
    from ..ort import onnxruntime as ort

    return ort.InferenceSession(str(path), sess_options=session_options(threads),
                                providers=requested_providers(device))


@dataclass
class QuestionResult:
    """TG-IS output for one question: ``slice_scores`` (D,) and ``image_tokens`` (N3 + L2, hidden)."""

    slice_scores: np.ndarray
    image_tokens: np.ndarray


@dataclass
class VisionRuntime:
    """A bundle's vision graphs in ONNX Runtime: encode a scan once, then (for a model with
    TG-IS) score each question's slices. ``question_path`` None: no slice attention. The scan
    graph that runs is the fp32 one, or an accepted reduced-precision version where one was
    made for the provider that really runs: int8 on the CPU, fp16 on CUDA."""

    scan_path: str | Path
    question_path: str | Path | None = None
    device: str = "auto"
    threads: int | None = None
    int8_scan_path: str | Path | None = None  # an accepted int8 scan graph, used on the CPU only
    fp16_scan_path: str | Path | None = None  # an accepted fp16 scan graph, used on CUDA only
    scan_session: Any = field(init=False, repr=False)
    question_session: Any = field(init=False, repr=False)
    n_slices: int = field(init=False)
    scan_graph: Path = field(init=False)  # the scan graph that runs

    def __post_init__(self) -> None:
        cpu_graph = Path(self.int8_scan_path or self.scan_path)
        if requested_providers(self.device) == [CPU]:
            self.use_scan_graph(cpu_graph)
        else:
            self.use_scan_graph(self.fp16_scan_path or self.scan_path)
            if self.providers[0] != CUDA and self.scan_graph != cpu_graph:
                # CUDA was asked for but did not come up: run what the CPU runs (fp16 is no faster there)
                self.use_scan_graph(cpu_graph)
        self.question_session = (create_session(self.question_path, self.device, self.threads)
                                 if self.question_path is not None else None)

    def use_scan_graph(self, path: str | Path) -> None:
        """Run the scan graph at ``path`` from now on (e.g. its int8 version, to compare)."""
        self.scan_session = create_session(path, self.device, self.threads)
        self.scan_graph = Path(path)
        self.n_slices = int(self.scan_session.get_inputs()[0].shape[2])  # volume (1, 1, D, H, W)

    @property
    def providers(self) -> list[str]:
        """Providers the scan session really runs on, in priority order."""
        return list(self.scan_session.get_providers())

    def report(self) -> str:
        """One line saying what runs where, e.g. for logs and ``ctchat bench``."""
        from ..ort import onnxruntime as ort

        so = self.scan_session.get_session_options()
        question = self.question_session.get_providers() if self.question_session else "(no TG-IS graph)"
        return (f"onnxruntime {ort.__version__}: scan ({self.scan_graph.name}) on {self.scan_session.get_providers()} "
                f"({graph_fusions(self.scan_session)}), question on {question}, "
                f"{describe_options(so)}, available {ort.get_available_providers()}")

    def encode_scan(self, volume: np.ndarray) -> dict[str, np.ndarray]:
        """Run the scan graph on ``volume`` (1, 1, D, H, W) float32; returns its named outputs."""
        vol = np.ascontiguousarray(volume, dtype=np.float32)
        names = [o.name for o in self.scan_session.get_outputs()]
        return dict(zip(names, self.scan_session.run(names, {"volume": vol})))

    @property
    def question_inputs(self) -> list[str]:
        """The question graph's input names (empty without one)."""
        return [i.name for i in self.question_session.get_inputs()] if self.question_session else []

    def ask(self, scan: dict[str, np.ndarray], text_vector: np.ndarray | None = None,
            seed: int = 0, question_tokens: dict[str, np.ndarray] | None = None) -> QuestionResult:
        """Run the question graph. ``text_vector`` (hidden,) or (1, hidden) is needed in
        ``"tgis"`` mode; ``question_tokens`` (``question_ids``, ``question_mask``) by a graph
        with its own text encoder (Med-2E3); ``seed`` draws the scores of ``"random"`` mode
        (reproducible)."""
        if self.question_session is None:
            raise ValueError("this model has no TG-IS question graph")
        feeds: dict[str, np.ndarray] = {}
        for inp in self.question_session.get_inputs():
            if inp.name == "text_vector":
                if text_vector is None:
                    raise ValueError("this question graph needs a text_vector")
                feeds[inp.name] = np.asarray(text_vector, dtype=np.float32).reshape(1, -1)
            elif inp.name in ("question_ids", "question_mask"):
                if question_tokens is None:
                    raise ValueError("this question graph needs the question's token ids")
                feeds[inp.name] = question_tokens[inp.name]
            elif inp.name == "random_scores":
                rng = np.random.default_rng(seed)
                feeds[inp.name] = rng.uniform(1e-3, 1.0, size=(1, self.n_slices)).astype(np.float32)
            else:
                feeds[inp.name] = scan[inp.name]
        scores, tokens = self.question_session.run(["slice_scores", "image_tokens"], feeds)
        return QuestionResult(scores[0], tokens[0])
