"""The chat session: a scan, a model bundle, questions, streamed answers and slice scores."""

from .session import Answer, ChatSession

__all__ = ["Answer", "ChatSession"]
