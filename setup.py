"""Package layout only (everything else is in pyproject.toml): ``resources/`` is installed as
the package ``ctchat_resources`` (its data folders as its sub-packages) without moving the
folder, which pyproject's ``packages.find`` cannot express (it names a package after its folder)."""

from setuptools import find_namespace_packages, find_packages, setup

CODE = find_packages(include=["inference*", "training*", "convert*", "viewer*", "benchmarks*"])
RESOURCES = ["ctchat_resources"] + [f"ctchat_resources.{p}" for p in find_namespace_packages(where="resources")
                                    if "__pycache__" not in p]
DATA_FILES = ["*.json", "*.onnx", "*.gguf", "*.nii.gz", "*.md"]

setup(packages=CODE + RESOURCES, package_dir={"ctchat_resources": "resources"},
      package_data={"*": ["*.json"], **{p: DATA_FILES for p in RESOURCES}})
