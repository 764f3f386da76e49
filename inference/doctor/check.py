"""One doctor check: what was looked at, how it went, and what to do about a problem."""

from __future__ import annotations

from dataclasses import asdict, dataclass

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """``status`` is ``ok``, ``warn`` (works, but worse than it could) or ``fail`` (will not
    work); ``hint`` says what to do when it is not ``ok``."""

    name: str
    status: str
    detail: str
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Check":
        return cls(str(data["name"]), str(data["status"]), str(data["detail"]), str(data.get("hint", "")))
