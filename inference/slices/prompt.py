"""A slice-set model's token sequence, as its own processor builds it.

The user turn is the notebook's content list: the instruction, each slice image followed by
its label, then the question. It is rendered by the model's own chat template (the one its
GGUF carries, run by Jinja2 with the settings transformers uses), which writes an image as a
marker (``<start_of_image>`` for Gemma 3). The processor then expands each marker into the
image's token run with text on both sides: for Gemma 3 ``"\\n\\n<start_of_image>"``, 256 image
tokens, ``"<end_of_image>\\n\\n"`` (transformers' ``Gemma3Processor.full_image_sequence``;
llama.cpp's mtmd writes the markers without the blank lines, so ctchat writes them itself).

Everything up to the last image does not depend on the question: it is decoded once per scan
and kept in the KV cache; the text after it (the last label, the question, the turn's end) is
decoded per question.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .recipe import RenderedSlices, SliceRecipe


@dataclass(frozen=True)
class SlicePromptFormat:
    """How images sit in the model's text (the manifest's ``slice_prompt``).

    Attributes:
        image_marker: what the chat template writes for an image.
        image_before: the text the processor puts where the marker was, before the image tokens.
        image_after: the text after the image tokens.
    """

    image_marker: str = "<start_of_image>"
    image_before: str = "\n\n<start_of_image>"
    image_after: str = "<end_of_image>\n\n"

    def to_dict(self) -> dict:
        return {"image_marker": self.image_marker, "image_before": self.image_before,
                "image_after": self.image_after}

    @classmethod
    def from_dict(cls, data: dict) -> "SlicePromptFormat":
        return cls(data.get("image_marker", cls.image_marker), data.get("image_before", cls.image_before),
                   data.get("image_after", cls.image_after))


def user_content(recipe: SliceRecipe, labels: list[str], question: str, image_files: list[str] | None = None) -> list[dict]:
    """The user turn's content list: instruction, each image and its label, the question.
    With ``image_files`` each image item names its file (``prompt.json`` of
    ``--save-model-input``)."""
    content: list[dict] = [{"type": "text", "text": recipe.instruction}]
    for n, label in enumerate(labels):
        content.append({"type": "image", **({"file": image_files[n]} if image_files else {})})
        if label:
            content.append({"type": "text", "text": label})
    content.append({"type": "text", "text": question})
    return content


@lru_cache(maxsize=8)
def _compiled(template: str):
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(f"the model's chat template refused the prompt: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


def render_chat(template: str, content: list[dict], bos_token: str, eos_token: str = "") -> str:
    """The chat template applied to one user turn, with the generation prompt after it."""
    messages = [{"role": "user", "content": content}]
    return _compiled(template).render(messages=messages, bos_token=bos_token, eos_token=eos_token,
                                      add_generation_prompt=True)


@dataclass(frozen=True)
class SliceSequence:
    """The text around the images: ``texts[0]``, image 0, ``texts[1]``, image 1, ...,
    ``texts[n]``. ``texts[n]`` holds the question; the rest is the scan's prefix."""

    texts: tuple[str, ...]

    @property
    def n_images(self) -> int:
        return len(self.texts) - 1

    @property
    def prefix(self) -> tuple[str, ...]:
        """The texts before and between the images (the same for every question)."""
        return self.texts[:-1]


def slice_sequence(rendered_text: str, fmt: SlicePromptFormat, n_images: int) -> SliceSequence:
    """Split a rendered chat into the text around each image, the processor's text added.

    Raises:
        ValueError: the template did not write one marker per image.
    """
    pieces = rendered_text.split(fmt.image_marker)
    if len(pieces) != n_images + 1:
        raise ValueError(f"the chat template wrote {len(pieces) - 1} image markers for {n_images} slices")
    texts = [pieces[0] + fmt.image_before]
    texts += [fmt.image_after + p + fmt.image_before for p in pieces[1:-1]]
    texts.append((fmt.image_after if n_images else "") + pieces[-1])
    if n_images == 0:
        texts = [pieces[0]]
    return SliceSequence(tuple(texts))


def build_sequence(template: str, fmt: SlicePromptFormat, recipe: SliceRecipe, rendered: RenderedSlices,
                   question: str, bos_token: str) -> SliceSequence:
    """The sequence for one question about rendered slices."""
    text = render_chat(template, user_content(recipe, rendered.labels, question), bos_token)
    return slice_sequence(text, fmt, len(rendered.images))

