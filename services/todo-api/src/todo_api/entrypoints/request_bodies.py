"""How a request body becomes the pydantic model of its route, and its mistakes a clear 400.

The body is decoded here rather than by Flask, so that undecodable, too deeply nested or
unstorable text answers `{"error": ...}` like every other mistake; the model then checks the
fields, with the domain's rules (`domain.commands`).
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from todo_api.domain.commands import NewTodo
from todo_api.domain.model import InvalidInput

Body = TypeVar("Body", bound=BaseModel)
# Longer numbers are refused as they are read: ids and counts fit in 19 digits.
MAX_NUMBER_DIGITS = 100


def request_body(model: type[Body], *, required: bool = True) -> Body:
    """The request's body validated by `model`; an optional body may be left out (empty)."""
    given = required or bool(request.get_data(cache=True).strip())
    if given or request.content_type:
        _refuse_other_media_types()
    body = _json_body() if given else {}
    try:
        return model.model_validate(body)
    except ValidationError as invalid:
        raise InvalidInput(_describe(invalid)) from None


def _refuse_other_media_types() -> None:
    """Only `application/json` (charset, if given, UTF-8, the only one JSON has): a web page on
    another site can send `text/plain` or a form without asking (no CORS preflight), so a body
    taken whatever its type would let any page a user visits write on their behalf (CSRF)."""
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if request.mimetype != "application/json" or charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(  # 415, answered {"error": ...} like every HTTP error
            f"request body must be application/json, not {request.content_type or 'of no declared type'}"
        )


def _json_body() -> Any:
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw, parse_int=_whole_number, parse_float=_finite_number, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("request body must be a JSON object") from None
    except RecursionError:
        # A couple of kilobytes of "[[[[..." outnest the decoder's recursion limit.
        raise InvalidInput("request body is nested too deeply") from None
    _refuse_unstorable_text(body)
    return body


def _whole_number(digits: str) -> int:
    # int() refuses more than 4300 digits (ValueError); no field needs a tenth of them.
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidInput(f"numbers must have at most {MAX_NUMBER_DIGITS} digits")
    return int(digits)


def _finite_number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 reads as infinity
        raise InvalidInput("numbers must be finite")
    return number


def _no_constant(name: str) -> Any:
    # Python's decoder takes NaN and Infinity, which JSON does not have.
    raise InvalidInput(f"{name} is not JSON")


def _refuse_unstorable_text(body: Any) -> None:
    """JSON can carry text no database stores: NUL (PostgreSQL refuses it) and lone surrogates
    such as "\\ud800" (not encodable as UTF-8, so SQLite refuses them)."""
    pending = [body]
    while pending:  # a loop, not recursion: the body may nest as deep as the decoder allowed
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and ("\x00" in value or not _encodable(value)):
            raise InvalidInput("text must not contain NUL characters or unpaired surrogates (\\ud800-\\udfff)")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _describe(invalid: ValidationError) -> str:
    """A body's validation errors as one message that says what to fix."""
    messages = []
    for error in invalid.errors():
        field = ".".join(str(part) for part in error["loc"])
        kind = error["type"]
        if not field:
            messages.append("request body must be a JSON object" if kind == "model_type" else _reason(error))
        elif field == "notify_email":
            messages.append("notify_email must be an e-mail address")
        elif kind == "extra_forbidden":
            messages.append(f"unknown field {field!r}")
        elif kind == "missing":
            messages.append(f"{field} is required")
        elif field == "title" and error["input"] is None:  # a new todo needs one; a change may not clear it
            messages.append("title is required" if invalid.title == NewTodo.__name__ else "title must not be null")
        elif kind.startswith("string_type"):
            messages.append(f"{field} must be a string")
        elif kind.startswith("bool_type"):
            messages.append(f"{field} must be true or false")
        else:
            messages.append(f"{field} {_reason(error)}")
    return "; ".join(messages)


def _reason(error: Any) -> str:
    return error["msg"].removeprefix("Value error, ")
