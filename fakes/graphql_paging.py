"""Shared machinery of the fake GraphQL resolvers: request context, Relay pagination with
GitHub-style opaque cursors, argument helpers, and the default resolver.

Cursors are base64 of `cursor:v2:<offset>` into the ordered (and cached) list behind a
connection; `edges` are only built when a query selects them.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_named_type,
    is_enum_type,
    is_list_type,
    is_non_null_type,
    is_scalar_type,
)

from fakes.graphql_errors import GitHubError
from fakes.graphql_objects import Obj, ObjectStore

_CURSOR_PREFIX = "cursor:v2:"


@dataclass
class RequestContext:
    """Per-request state handed to every resolver as `info.context`."""

    store: ObjectStore
    rate: dict[str, Any] = field(default_factory=dict)  # RateLimit fields after charging
    dry_run: bool = False


def store_of(info: GraphQLResolveInfo) -> ObjectStore:
    return info.context.store


# --- pagination -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def encode_cursor(index: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{index}".encode()).decode()


def decode_cursor(value: str) -> int:
    try:
        text = base64.b64decode(value, validate=True).decode()
        if text.startswith(_CURSOR_PREFIX):
            return int(text[len(_CURSOR_PREFIX) :])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    message = f"`{value}` does not appear to be a valid cursor."
    raise GitHubError("INVALID_CURSOR_ARGUMENTS", message)


EMPTY_PAGE_INFO = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
                   "endCursor": None}  # fmt: skip


def paginate(items: Sequence[Any], args: dict[str, Any], build: Callable[[Any], Any]) -> Obj:
    """Relay's slicing (after/before, then first, then last) over an already ordered list.

    `skip` (only timeline connections have it) drops the first n items the cursors leave, before
    `first`/`last`, on each request that passes it; cursors stay offsets into `items`.
    `filteredCount` (items between the cursors) and `pageCount` (items on this page) are the
    timeline connections' extra counts, as GitHub documents them.
    """
    total = len(items)
    start, end = 0, total
    if args.get("after") is not None:
        start = min(max(decode_cursor(args["after"]) + 1, 0), total)
    if args.get("before") is not None:
        end = max(min(decode_cursor(args["before"]), total), start)
    filtered = end - start
    if args.get("skip") is not None:
        start = min(start + max(args["skip"], 0), end)
    if args.get("first") is not None:
        end = min(end, start + max(args["first"], 0))
    if args.get("last") is not None:
        start = max(start, end - max(args["last"], 0))
    nodes = [build(item) for item in items[start:end]]
    return {
        "totalCount": total,
        "filteredCount": filtered,
        "pageCount": len(nodes),
        "nodes": nodes,
        "_start": start,  # `edges` are built from it only when selected (see _edges)
        "pageInfo": {
            "hasNextPage": end < total,
            "hasPreviousPage": start > 0,
            "startCursor": encode_cursor(start) if nodes else None,
            "endCursor": encode_cursor(end - 1) if nodes else None,
        },
    }


def edges_resolver(source: Obj, _info: GraphQLResolveInfo) -> list[Obj]:
    start = source.get("_start", 0)
    return [{"cursor": encode_cursor(start + i), "node": n} for i, n in enumerate(source["nodes"])]


def order_of(args: dict[str, Any], default_field: str) -> tuple[str, bool]:
    order = args.get("orderBy") or {}
    return order.get("field", default_field), order.get("direction", "ASC") == "DESC"


def parse_time(value: str, arg: str, field_name: str, type_name: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise GitHubError(
            None,
            f"Argument '{arg}' on Field '{field_name}' has an invalid value ({value!r}). "
            f"Expected type '{type_name}'.",
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def zero_value(return_type: Any) -> Any:
    """A harmless value for a field the fake does not model (GitHub would serve real data)."""
    named = get_named_type(return_type)
    if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
        return {"totalCount": 0, "nodes": [], "pageInfo": EMPTY_PAGE_INFO}
    if not is_non_null_type(return_type):
        return None
    inner = return_type.of_type
    if is_list_type(inner):
        return []
    if is_enum_type(inner):
        return "UNKNOWN" if "UNKNOWN" in inner.values else next(iter(inner.values))
    if is_scalar_type(inner):
        return {"Int": 0, "Float": 0.0, "Boolean": False}.get(inner.name, "")
    return None


def field_resolver(source: Any, info: GraphQLResolveInfo, **_args: Any) -> Any:
    """Default resolver: the dict key named like the field, else a neutral value."""
    if isinstance(source, dict):
        try:
            return source[info.field_name]
        except KeyError:
            return zero_value(info.return_type)
    return getattr(source, info.field_name, None)
