"""The one exception type the HTTP layer turns into a response."""

from __future__ import annotations

from typing import Any


class HttpError(Exception):
    """An error the client caused or can act on; becomes a JSON response with ``status``."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.details = details
