"""JSON documents: one set of rules for what the registry reads, and a safe view of what it stored.

Every JSON request body (``registry.app.GalleryRequest``) and every publish manifest is read
by :func:`loads`, so the same rules hold everywhere:

- UTF-8 and RFC 8259 JSON: no lone surrogate escapes (``"\\ud800"``), ``NaN``, ``Infinity`` or
  numbers beyond a double (``1e400``);
- at most :data:`MAX_DEPTH` levels of arrays and objects, measured on the bytes before any
  parser recurses into them;
- integers within 64 bits, and no U+0000 in any string or key (PostgreSQL stores neither).

Reads go the other way: :func:`servable` and :func:`servable_object` stand in for a stored
document that can no longer be served (deeper than the limit, a string that is not Unicode, a
shape the column should not hold), so one odd row degrades its own field and never fails a
whole read or list.
"""

from __future__ import annotations

import logging
import re
from array import array
from itertools import accumulate
from typing import Any

import msgspec

log = logging.getLogger(__name__)

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a JSON body or manifest."""
INT64 = range(-(2**63), 2**63)

# A JSON string, possibly cut off: possessive, so an unterminated one costs one linear scan.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 opens, -1 (signed) closes
_LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONG_INT = re.compile(rb"\d{19}")  # every integer beyond 64 bits has at least 19 digits


class DocumentError(ValueError):
    """Why a document was refused: where in it (``""`` for the whole), the rule, a sentence.

    ``malformed`` says the bytes are not a JSON document within the limits at all (rather
    than a document with one bad value).
    """

    def __init__(self, where: str, rule: str, message: str, *, malformed: bool = False) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.rule = rule
        self.message = message
        self.malformed = malformed


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw`` (brackets inside strings do not count)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).translate(_STEPS)
    return max(accumulate(array("b", brackets)), default=0)


def loads(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON document under the rules above; raises :class:`DocumentError`."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            "",
            "json",
            f"byte {raw[exc.start]:#04x} at offset {exc.start} is not UTF-8",
            malformed=True,
        ) from None
    # Cheap bound first: a document cannot nest deeper than it has opening brackets.
    if raw.count(b"[") + raw.count(b"{") > max_depth and nesting_depth(raw) > max_depth:
        raise DocumentError(
            "",
            "depth",
            f"arrays and objects nest deeper than the limit of {max_depth} levels",
            malformed=True,
        )
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        reason = str(exc)
        if _LONE_SURROGATE.search(raw) and "surrogate" not in reason:
            reason = f"{reason} (a \\uD800-\\uDFFF escape must be half of a surrogate pair)"
        raise DocumentError("", "json", reason, malformed=True) from None
    if b"\\u0000" in raw or _LONG_INT.search(raw):
        problem = _first_problem(value, max_depth=max_depth, stored=False)
        if problem is not None:
            raise problem
    return value


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _is_text(value: str) -> bool:
    """Encodable as UTF-8: no lone surrogates, which no JSON encoder can write."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_problem(value: Any, *, max_depth: int, stored: bool) -> DocumentError | None:
    """The first rule ``value`` breaks, walking without recursion (it may be deep).

    Incoming documents (``stored=False``) follow the rules of :func:`loads`; stored ones
    need only be something a JSON encoder can write within the depth limit.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            if not stored and "\x00" in node:
                return DocumentError(where, "no_nul", "must not contain NUL (U+0000) characters")
            if stored and not _is_text(node):
                return DocumentError(where, "unicode", "holds a lone surrogate")
        elif node is None or isinstance(node, bool | float):
            continue
        elif isinstance(node, int):
            if not stored and node not in INT64:
                return DocumentError(
                    where, "int64", "integer outside the 64-bit range (-2**63 to 2**63-1)"
                )
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                return DocumentError(
                    where, "depth", f"nests deeper than the limit of {max_depth} levels"
                )
            if isinstance(node, list):
                stack.extend((item, _join(where, i), depth + 1) for i, item in enumerate(node))
                continue
            for key, item in node.items():
                if not isinstance(key, str) or not _is_text(key):
                    return DocumentError(where, "key", "has a key that is not a string")
                if not stored and "\x00" in key:
                    return DocumentError(
                        where, "no_nul", "has a key containing NUL (U+0000) characters"
                    )
                stack.append((item, _join(where, key), depth + 1))
        else:
            return DocumentError(where, "type", f"holds a {type(node).__name__}, not JSON")
    return None


def check_servable(value: Any) -> Any:
    """``value`` unchanged if it can be served as JSON; raises :class:`DocumentError`."""
    problem = _first_problem(value, max_depth=MAX_DEPTH, stored=True)
    if problem is not None:
        raise problem
    return value


def _unreadable(problem: DocumentError) -> dict[str, Any]:
    log.warning("a stored document is not served: %s", problem)
    return {"unreadable": f"this stored document cannot be shown: {problem}"}


def servable(value: Any) -> Any:
    """A stored JSON value as it can be served; an unservable one is replaced by a note."""
    try:
        return check_servable(value)
    except DocumentError as problem:
        return _unreadable(problem)


def servable_object(value: Any) -> dict[str, Any]:
    """Like :func:`servable`, for a column that should hold a JSON object."""
    if not isinstance(value, dict):
        return _unreadable(DocumentError("", "object", f"holds a {type(value).__name__}"))
    result: dict[str, Any] = servable(value)
    return result
