"""ctchat makes no network calls: the ONNX Runtime sessions it makes write no telemetry, and a Ray
cluster it starts reports no usage stats.

ONNX Runtime (1.29 and later) starts a telemetry uploader on Linux unless ORT_DISABLE_TELEMETRY
is set before its first import; the uploader keeps a device id and an event store under
~/.cache/Microsoft/DeveloperTools. ctchat imports ONNX Runtime only through ``inference.ort``,
which sets the switch (an import-linter contract in pyproject.toml keeps it the only way). Each
case makes a session the way a part of ctchat makes one, in a fresh interpreter with its own
HOME and an inherited ORT_DISABLE_TELEMETRY=0, and looks for those files; the control, a bare
``import onnxruntime``, shows that they would be there. Ray reports a cluster's usage stats by
default; the last test asks Ray whether it would, once ctchat has imported it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# a one-node graph written to relu.onnx in the working folder (onnx never imports ONNX Runtime)
WRITE_A_GRAPH = """
import numpy as np
from onnx import TensorProto, helper, save_model
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), "relu.onnx")
"""
# each defines run(x) -> the graph's outputs, through one way of making a session
BARE_ORT = """
import onnxruntime as ort
run = lambda x: ort.InferenceSession("relu.onnx", providers=["CPUExecutionProvider"]).run(None, {"x": x})
"""
CTCHAT_SESSIONS = {
    "inference.ort": """
from inference.ort import onnxruntime as ort
run = lambda x: ort.InferenceSession("relu.onnx", providers=["CPUExecutionProvider"]).run(None, {"x": x})
""",
    "the runtime's vision session": """
from inference.vision.runtime import create_session
run = lambda x: create_session("relu.onnx", device="cpu").run(None, {"x": x})
""",
    "a conversion's check run": """
from convert.towers.onnx_export import run_onnx
run = lambda x: run_onnx("relu.onnx", {"x": x})
""",
    "an int8 scan graph made by model building": """
from training.export.scan_variants import quantize_scan
from inference.vision.runtime import create_session
quantize_scan("relu.onnx", "int8.onnx")
run = lambda x: create_session("int8.onnx", device="cpu").run(None, {"x": x})
""",
}
RUN_IT = """
assert run(np.array([-1.0, 2.0], np.float32))[0].tolist() == [0.0, 2.0]
"""

# ONNX Runtime keeps its telemetry off by itself where one of these says it runs under CI (they
# are in its library): every case runs without them, so that it tests ctchat's switch in CI too
CI_MARKERS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL", "CIRCLECI", "TRAVIS", "BUILDKITE",
              "CODEBUILD_BUILD_ID", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER")


def telemetry_files(tmp_path: Path, make_session: str) -> list[str]:
    """Run a session made by ``make_session`` with HOME in ``tmp_path``; the files ORT's
    telemetry left."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", *CI_MARKERS)}
    env.update(HOME=str(home), ORT_DISABLE_TELEMETRY="0", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", WRITE_A_GRAPH + make_session + RUN_IT], env=env, check=True,
                   cwd=tmp_path, timeout=180)
    store = home / ".cache" / "Microsoft"
    return sorted(str(p.relative_to(home)) for p in store.rglob("*")) if store.exists() else []


def test_onnx_runtime_alone_would_start_its_telemetry(tmp_path):
    # the control: without ctchat's switch this ONNX Runtime writes its telemetry store, so the
    # cases below would see it if the switch were lost
    assert any(name.endswith("deviceid") for name in telemetry_files(tmp_path, BARE_ORT)), \
        "this ONNX Runtime no longer writes ~/.cache/Microsoft: check how its telemetry is turned off now"


@pytest.mark.parametrize("way", list(CTCHAT_SESSIONS))
def test_the_sessions_ctchat_makes_write_no_telemetry(tmp_path, way):
    assert telemetry_files(tmp_path, CTCHAT_SESSIONS[way]) == []


RAY_STATS = "from ray._common.usage.usage_lib import usage_stats_enabled\nprint(usage_stats_enabled())"


@pytest.mark.parametrize("first, reports", [("", "True"),
                                            ("from inference.batch.ray_backend import import_ray\nimport_ray()", "False")])
def test_a_ray_cluster_started_from_ctchat_reports_no_usage_stats(tmp_path, first, reports):
    pytest.importorskip("ray")
    env = {k: v for k, v in os.environ.items() if k != "RAY_USAGE_STATS_ENABLED"}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    # without ctchat's switch Ray reports by default (the control); with it, not even when asked
    if first:
        env["RAY_USAGE_STATS_ENABLED"] = "1"
    out = subprocess.run([sys.executable, "-c", first + "\n" + RAY_STATS], env=env, check=True,
                         capture_output=True, text=True, cwd=tmp_path, timeout=120).stdout
    assert out.strip().splitlines()[-1] == reports
