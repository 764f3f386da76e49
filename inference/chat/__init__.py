"""The chat session: a scan, a model bundle, questions, streamed answers and slice scores."""

from .open_session import open_session
from .session import Answer, ChatSession

__all__ = ["Answer", "ChatSession", "open_session"]
