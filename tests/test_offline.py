"""ctchat makes no network calls: ONNX Runtime's telemetry and Ray's usage stats are off,
whichever package comes first.

ONNX Runtime (1.29 and later) starts a telemetry uploader on Linux unless ORT_DISABLE_TELEMETRY
is set before its first import; the uploader keeps a device id and an event store under
~/.cache/Microsoft/DeveloperTools. Each case runs a session in a fresh interpreter with its own
HOME and an inherited ORT_DISABLE_TELEMETRY=0, and looks for those files. Ray reports a
cluster's usage stats by default; the last test asks Ray whether it would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_A_SESSION = """
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
assert session.run(None, {"x": np.array([-1.0, 2.0], np.float32)})[0].tolist() == [0.0, 2.0]
"""

# ONNX Runtime keeps its telemetry off by itself where one of these says it runs under CI (they
# are in its library): every case runs without them, so that it tests ctchat's switch in CI too
CI_MARKERS = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "JENKINS_URL", "CIRCLECI", "TRAVIS", "BUILDKITE",
              "CODEBUILD_BUILD_ID", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER")


def telemetry_files(tmp_path: Path, first_import: str) -> list[str]:
    """Run a session after ``first_import`` with HOME in ``tmp_path``; the files ORT's telemetry left."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", *CI_MARKERS)}
    env.update(HOME=str(home), ORT_DISABLE_TELEMETRY="0", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", first_import + "\n" + RUN_A_SESSION], env=env, check=True,
                   cwd=tmp_path, timeout=120)
    store = home / ".cache" / "Microsoft"
    return sorted(str(p.relative_to(home)) for p in store.rglob("*")) if store.exists() else []


def test_onnx_runtime_alone_would_start_its_telemetry(tmp_path):
    # the control: without ctchat's switch this ONNX Runtime writes its telemetry store, so the
    # cases below would see it if the switch were lost
    assert any(name.endswith("deviceid") for name in telemetry_files(tmp_path, "")), \
        "this ONNX Runtime no longer writes ~/.cache/Microsoft: check how its telemetry is turned off now"


@pytest.mark.parametrize("package", ["inference.vision.runtime", "training", "convert", "viewer"])
def test_every_package_turns_the_telemetry_off_before_onnx_runtime_loads(tmp_path, package):
    assert telemetry_files(tmp_path, f"import {package}\nimport os\nassert os.environ['ORT_DISABLE_TELEMETRY'] == '1'") == []


RAY_STATS = "from ray._common.usage.usage_lib import usage_stats_enabled\nprint(usage_stats_enabled())"


@pytest.mark.parametrize("first_import, reports", [("", "True"), ("import inference.batch.ray_backend", "False")])
def test_a_ray_cluster_started_from_ctchat_reports_no_usage_stats(tmp_path, first_import, reports):
    pytest.importorskip("ray")
    env = {k: v for k, v in os.environ.items() if k != "RAY_USAGE_STATS_ENABLED"}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    # without ctchat's switch Ray reports by default (the control); with it, not even when asked
    if first_import:
        env["RAY_USAGE_STATS_ENABLED"] = "1"
    out = subprocess.run([sys.executable, "-c", first_import + "\n" + RAY_STATS], env=env, check=True,
                         capture_output=True, text=True, cwd=tmp_path, timeout=120).stdout
    assert out.strip().splitlines()[-1] == reports
