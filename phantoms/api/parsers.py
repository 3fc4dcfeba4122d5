"""JSON bodies with limits: nesting depth, list and object sizes; a body over a limit is a 400 naming it."""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BodyRejected(ValueError):
    pass


def _reject_constant(name):
    raise BodyRejected(f"{name} is not valid JSON")


def check_shape(value, *, max_depth: int, max_items: int) -> None:
    """Walk the parsed body without recursion: too deep or too long raises BodyRejected."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise BodyRejected(f"nested deeper than {max_depth} levels")
            if len(item) > max_items:
                kind = "an object with" if isinstance(item, dict) else "a list with"
                raise BodyRejected(f"{kind} more than {max_items} entries")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def loads_bounded(raw: bytes | str):
    """Parse JSON within the configured limits; BodyRejected says what is wrong."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BodyRejected(f"nested deeper than {settings.API_JSON_MAX_DEPTH} levels")
    except UnicodeDecodeError:
        raise BodyRejected("not UTF-8")
    except ValueError as exc:
        if isinstance(exc, BodyRejected):
            raise
        raise BodyRejected(f"not valid JSON ({exc})")
    check_shape(value, max_depth=settings.API_JSON_MAX_DEPTH, max_items=settings.API_JSON_MAX_ITEMS)
    return value


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return loads_bounded(raw)
        except BodyRejected as exc:
            raise ParseError(f"body: {exc}")
