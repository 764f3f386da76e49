"""``--save-model-input DIR``: the exact input a model was given for one question, as files.

Preprocessing is the first question in every one of these models' issue trackers; this shows
it rather than describing it.

- A slice-set bundle: ``slices/NNN.png``, the RGB images as rendered (before the model's own
  resize), and ``prompt.json`` = ``{"messages": [{"role": "user", "content": [{"type": "text",
  "text": ...}, {"type": "image", "file": "slices/000.png"}, {"type": "text", "text": "SLICE
  1"}, ...]}]}``, the content list the model's chat template was applied to; ``sent.json``
  says which stored slice each image is (counted from 1) and by which recipe.
- A native-3D bundle: ``input.npy``, the (1, 1, D, H, W) float32 array the scan graph read, and
  ``prompt.json`` with each segment of the sequence in order: text with its token ids, or an
  image slot with the number and width of the vectors that filled it.

Nothing identifying is written: the images hold pixels only, the JSON no header field.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..question import Question
from .session import ChatSession


def save_model_input(session: ChatSession, question: Question, folder: str | Path) -> Path:
    """Write what ``session`` gives its model for ``question`` about the loaded scan into
    ``folder`` (created); returns the folder."""
    from .slice_session import SliceSetSession

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(session, SliceSetSession):
        _save_slices(session, question, folder)
    else:
        _save_volume(session, question, folder)
    return folder


def _save_slices(session, question: Question, folder: Path) -> None:
    from PIL import Image

    from ..slices.prompt import user_content

    rendered = session.model_input
    if rendered is None:
        raise RuntimeError("load a scan first")
    (folder / "slices").mkdir(exist_ok=True)
    names = []
    for n, image in enumerate(rendered.images):
        name = f"slices/{n:03d}.png"
        Image.fromarray(image, mode="RGB").save(folder / name)  # PNG: lossless, exactly the rendered pixels
        names.append(name)
    recipe = session.bundle.slice_recipe
    prompt = session.bundle.prompt.task_prompt(question)
    content = user_content(recipe, rendered.labels, prompt, names)
    _write_json(folder / "prompt.json", {"messages": [{"role": "user", "content": content}]})
    _write_json(folder / "sent.json", {
        "stored_slices": [k + 1 for k in rendered.stored], "n_stored_slices": rendered.n_stored,
        "slice_grid": "stored", "recipe": recipe.to_dict(), "image_text": session.bundle.slice_prompt.to_dict(),
        "bundle": session.bundle.name})


def _save_volume(session: ChatSession, question: Question, folder: Path) -> None:
    if session.model_input is None:
        raise RuntimeError("load a scan first")
    np.save(folder / "input.npy", session.model_input.array)
    fmt = session.bundle.prompt
    prompt = fmt.task_prompt(question)
    layout = session.bundle.layout
    widths = {"image_3d": layout.n_tokens_3d, "image_2d": layout.n_tokens_2d}
    segments = []
    for segment in fmt.scan_segments() + fmt.question_segments(prompt):
        ids = segment.token_ids(session.llm.tokenize)
        if ids is None:
            segments.append({"kind": segment.kind, "n_vectors": widths[segment.kind], "width": layout.hidden,
                             "scale": float(session.scale)})
        else:
            segments.append({"kind": segment.kind, "text": segment.text.replace("{prompt}", prompt),
                             "token_ids": ids})
    _write_json(folder / "prompt.json", {"segments": segments, "question": question.shown, "task": question.task,
                                         "input": {"file": "input.npy", "shape": list(session.model_input.array.shape),
                                                   "recipe": session.model_input.recipe.to_dict()},
                                         "bundle": session.bundle.name})


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
