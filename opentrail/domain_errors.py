"""The base of every domain error (trails, event data stores, queries): no HTTP, named after the
wire. The class name is the AWS error code; the message is AWS's text. The API layer turns each
into the :class:`opentrail.api.errors.AwsError` of the same name at one edge per domain."""

from __future__ import annotations


class DomainError(Exception):
    """``code`` is the class name, ``message`` AWS's text (``default_message`` when none is given)."""

    default_message: str = ""

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return type(self).__name__
