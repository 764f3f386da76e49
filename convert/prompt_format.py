"""A converted published model's prompt, as the bundle's :class:`~inference.llm.prompt.PromptFormat`.

The segments lay out what the published code builds (its own token ids,
docs/published-models-llm.md; checked against transformers on the published tokenizers by
tests/convert), so the chat session needs no case per model:

- M3D-LaMed with BOS: ``[BOS] [256 image vectors] [" " + prompt]`` (the leading space only
  where the SentencePiece tokenizer is ``legacy``; otherwise llama.cpp's dummy prefix is it);
- M3D-LaMed without BOS and Med3DVLM: ``[<im_patch>] [256 image vectors] [prompt minus its
  first token]`` (the positional splice overwrites it);
- Med-2E3: ``[BOS?] [system + " USER: "] [256 3D] [256 TG-IS 2D] ["\\n" + prompt + " ASSISTANT:"]``.

All three were trained on M3D-Cap captions and M3D-VQA (open questions, and closed ones as
``question + " Choices: A. .. B. .. C. .. D. .."`` answered ``"B. text"``); they have no
yes/no disease prompt, so a bundle of theirs offers none.
"""

from __future__ import annotations

from inference.llm.prompt import PromptFormat, Segment

from .llm_layouts import MED2E3, MED3DVLM
from .llm_prompt import MED2E3_SYSTEM, LLMFacts

# M3D's first caption template (LaMed/src/dataset/prompt_templates.py); the caption form has no
# space after the image, which a non-legacy SentencePiece cannot give llama.cpp, so every task
# is asked in the VQA form (image, space, text)
CAPTION_PROMPT = "Can you provide a caption consists of findings for this medical image?"
PUBLISHED_TASKS = {
    "open": "{question}",
    "choice": "{question} Choices: {choices}",
    "report": CAPTION_PROMPT,
}


def published_segments(facts: LLMFacts) -> tuple[Segment, ...]:
    """The sequence of one question, as the published code lays it out."""
    if facts.layout == MED2E3:
        head = (Segment("tokens", ids=(facts.bos_id,)),) if facts.prompt_has_bos else ()
        return head + (Segment("text", MED2E3_SYSTEM + " USER: ", special=False), Segment("image_3d"),
                       Segment("image_2d"), Segment("text", "\n{prompt} ASSISTANT:", special=False))
    lead = " " if facts.layout == MED3DVLM or facts.sp_legacy else ""
    asked = lead + "{prompt}"
    if facts.prompt_has_bos:
        return (Segment("tokens", ids=(facts.bos_id,)), Segment("image_3d"), Segment("text", asked, special=False))
    # no BOS: position 0 is the <im_patch> row and the first question token falls under the image
    return (Segment("tokens", ids=(facts.image_token_id,)), Segment("image_3d"),
            Segment("text", asked, special=False, drop_first=1))


def published_prompt_format(facts: LLMFacts) -> PromptFormat:
    """The bundle's prompt format: the segments, M3D's task prompts, image vectors unscaled
    (the projector's output is the LLM's input embedding as it is), and the published stop ids."""
    return PromptFormat(segments=published_segments(facts), embedding_scale=1.0, tasks=dict(PUBLISHED_TASKS),
                        stop=(), stop_ids=facts.stop_ids, choice_answer="letter_first")
