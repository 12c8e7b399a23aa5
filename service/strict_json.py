"""JSON bodies read strictly: a duplicated key, too deep a nesting or an over-long integer is
refused with a 422 naming it, where Python's `json` would keep the last key or fail with a
bare 400 (FastAPI answers `json.JSONDecodeError` with a 422 that carries the message)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute


def _refuse_duplicates(text: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(pairs)
        if len(data) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise json.JSONDecodeError(f"duplicated key {key[:40]!r}", text, 0)
                seen.add(key)
        return data
    return build


def parse_strict(body: bytes) -> Any:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates(text))
    except RecursionError:
        raise json.JSONDecodeError("the JSON nests too deeply", text, 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise json.JSONDecodeError(str(error)[:200], text, 0) from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_strict(await self.body())
        return self._json


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is parsed by `parse_strict`; a body of another content type
    gets a 415 that says what to send, instead of a 422 about a string that is no object."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form)

        async def strict_handler(request: Request) -> Response:
            strict = StrictJSONRequest(request.scope, request.receive)
            content_type = strict.headers.get("content-type")
            if expects_json and not _is_json(content_type) and await strict.body():
                return JSONResponse(
                    {"detail": f"the body must be JSON, sent with 'Content-Type: "
                               f"application/json' (got {(content_type or 'none')[:60]!r})"},
                    status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
            return await handler(strict)

        return strict_handler
