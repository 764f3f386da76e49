"""GBNF grammars that limit what llama.cpp may generate (its grammar sampler reads them).

The one grammar the app needs: an answer that is exactly one of a few texts, as a
multiple-choice answer must name exactly one of its options in the form the bundle was trained
to write ("left lower (B)").

Example:
    >>> print(one_of(["left lung (A)", 'the "right" lung (B)']))
    root ::= " "? ("left lung (A)" | "the \\"right\\" lung (B)")
"""

from __future__ import annotations

from typing import Sequence

# GBNF's escapes inside a "..." literal (llama.cpp's parse_char); other control characters as \xHH
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_of(texts: Sequence[str]) -> str:
    """A GBNF grammar whose ``root`` is exactly one of ``texts``, after an optional space: a
    trained answer follows its prompt as ``" " + answer`` (training tokenizes it so), and
    llama.cpp ends the answer (an end-of-generation token) as soon as the grammar is complete.

    Raises:
        ValueError: ``texts`` is empty or holds an empty text.
    """
    if not texts or not all(texts):
        raise ValueError("a grammar of alternatives needs at least one non-empty text")
    return 'root ::= " "? (' + " | ".join(gbnf_literal(t) for t in texts) + ")"


def gbnf_literal(text: str) -> str:
    """``text`` as a GBNF string literal (quotes, backslashes and control characters escaped;
    other characters as they are, which llama.cpp reads as UTF-8)."""
    return '"' + "".join(_ESCAPES.get(c, f"\\x{ord(c):02x}" if ord(c) < 0x20 else c) for c in text) + '"'
