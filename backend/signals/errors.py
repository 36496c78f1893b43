"""What the signal pipeline refuses, named so the API and the UI can say why."""

from __future__ import annotations


class SignalsError(Exception):
    """Base of the pipeline's refusals."""


class InputRejected(SignalsError, ValueError):
    """Bad input; `field` names it (422 in the API, a message beside the field in the UI)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class CtAccountNotFound(SignalsError, LookupError):
    def __init__(self, ref: int | str) -> None:
        super().__init__(f"no CT account {ref}")


class PostNotFound(SignalsError, LookupError):
    def __init__(self, post_id: int) -> None:
        super().__init__(f"no post {post_id}")
