"""The fake Heroku Platform API (v3), mounted at `/heroku`: apps, releases, slugs.

Reproduced from Heroku's platform API reference:
- `Accept: application/vnd.heroku+json; version=3` is required (400 `missing_version` otherwise);
- `Authorization: Bearer <token>` (or Basic) is required (401 `unauthorized` otherwise);
- list pagination by the `Range` header: `Range: version ..; max=200, order=desc`, an exclusive
  start with `]` (`version ]42..`), default max 200, cap 1000, default order ascending; a
  truncated list answers 206 Partial Content with `Next-Range` (feed it back as `Range`), a
  complete one 200; `Accept-Ranges: id, version` and `Content-Range: <field> <first>..<last>`;
- a `RateLimit-Remaining` header (4500 requests per hour).

Releases have Heroku's release shape, whose `slug` is only `{"id": ...}`. The deployed commit lives
where Heroku keeps it: on the slug, `GET /heroku/apps/{app}/slugs/{slug_id}` → `commit` (full sha).
A scenario release without a commit has `slug: null` (config-only release).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fakes.rest_builders import dumps
from fakes.rest_common import iso
from fakes.scenario import HerokuApp, HerokuRelease, Scenario

ACCEPT_RE = re.compile(r"application/vnd\.heroku\+json;\s*version=3", re.IGNORECASE)
AUTH_RE = re.compile(r"^\s*(bearer|basic)\s+\S+", re.IGNORECASE)
RANGE_RE = re.compile(
    r"^\s*(?P<field>[a-z_]+)\s+(?P<excl>\])?(?P<start>[^.;\s]*)\.\.(?P<end>[^;\s]*)\s*"
    r"(?:;\s*(?P<params>.*))?$"
)
RANGE_FIELDS = ("id", "version")
DEFAULT_MAX = 200
MAX_MAX = 1000
HOURLY_LIMIT = 4500
_NAMESPACE = uuid.UUID("6f1c7c6e-0000-4000-8000-000000000000")


def stable_uuid(*parts: object) -> str:
    """Heroku ids are uuids; derive them so a scenario always serves the same ones."""
    return str(uuid.uuid5(_NAMESPACE, ":".join(str(p) for p in parts)))


class HerokuError(Exception):
    def __init__(self, status: int, error_id: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"id": error_id, "message": message, **extra}


@dataclass(frozen=True, slots=True)
class RangeSpec:
    field: str
    start: str
    exclusive: bool
    end: str
    max: int
    order: str  # asc | desc

    def next_range(self, last_value: str) -> str:
        return f"{self.field} ]{last_value}..{self.end}; max={self.max}, order={self.order}"


def parse_range(header: str | None) -> RangeSpec:
    """Heroku's Range grammar; an unparseable header is a 400 like Heroku's."""
    if not header:
        return RangeSpec("version", "", False, "", DEFAULT_MAX, "asc")
    match = RANGE_RE.match(header)
    if match is None:
        raise HerokuError(400, "bad_request", f"Invalid Range header: {header!r}.")
    field = match["field"]
    if field not in RANGE_FIELDS:
        raise HerokuError(
            400, "bad_request", f"Invalid Range field {field!r}; valid fields: id, version."
        )
    max_items, order = DEFAULT_MAX, "asc"
    for raw in re.split(r"[;,]", match["params"] or ""):
        item = raw.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if key == "max" and value.isdigit() and int(value) > 0:
            max_items = min(int(value), MAX_MAX)
        elif key == "order" and value in ("asc", "desc"):
            order = value
        else:
            raise HerokuError(400, "bad_request", f"Invalid Range parameter {item!r}.")
    if field == "version" and not all(v.isdigit() for v in (match["start"], match["end"]) if v):
        raise HerokuError(400, "bad_request", "Invalid Range: version bounds must be integers.")
    return RangeSpec(field, match["start"], bool(match["excl"]), match["end"], max_items, order)


class HerokuService:
    """Serves the scenario's Heroku apps; sorted release lists are built once per app."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._lock = threading.Lock()
        self._used = 0
        self._window_start = time.time()
        self._sorted: dict[tuple[str, str], tuple[list[HerokuRelease], list[Any]]] = {}

    # --- budget ---------------------------------------------------------------------------

    def remaining(self, spend: bool) -> int:
        with self._lock:
            now = time.time()
            if now - self._window_start >= 3600:
                self._used, self._window_start = 0, now
            if spend:
                self._used += 1
            return max(HOURLY_LIMIT - self._used, 0)

    # --- objects --------------------------------------------------------------------------

    def _app(self, name: str) -> HerokuApp:
        app = self.scenario.heroku_app_by_name.get(name)
        if app is None:
            app = next(
                (a for a in self.scenario.heroku_apps if stable_uuid("app", a.name) == name), None
            )
        if app is None:
            raise HerokuError(404, "not_found", "Couldn't find that app.", resource="app")
        return app

    def app_body(self, app: HerokuApp) -> dict[str, Any]:
        created = min((r.created_at for r in app.releases), default=self.scenario.now)
        released = max((r.created_at for r in app.releases), default=created)
        stack = {"id": stable_uuid("stack", "heroku-24"), "name": "heroku-24"}
        return {
            "id": stable_uuid("app", app.name),
            "name": app.name,
            "acm": False,
            "archived_at": None,
            "buildpack_provided_description": None,
            "build_stack": stack,
            "stack": stack,
            "created_at": iso(created),
            "updated_at": iso(released),
            "released_at": iso(released),
            "git_url": f"https://git.heroku.com/{app.name}.git",
            "web_url": f"https://{app.name}.herokuapp.com/",
            "maintenance": False,
            "owner": {"email": "owner@example.com", "id": stable_uuid("user", "owner@example.com")},
            "organization": None,
            "team": None,
            "space": None,
            "internal_routing": None,
            "region": {"id": stable_uuid("region", "us"), "name": "us"},
            "repo_size": None,
            "slug_size": None,
            "generation": "cedar",
        }

    def release_body(self, app: HerokuApp, r: HerokuRelease) -> dict[str, Any]:
        slug_id = stable_uuid("slug", app.name, r.id) if r.commit else None
        return {
            "id": r.id,
            "version": r.version,
            "status": r.status,
            "current": r.current,
            "description": r.description,
            "created_at": iso(r.created_at),
            "updated_at": iso(r.updated_at),
            "user": {"email": r.user, "id": stable_uuid("user", r.user)},
            "app": {"id": stable_uuid("app", app.name), "name": app.name},
            "slug": {"id": slug_id} if slug_id else None,
            "artifacts": [{"type": "slug", "id": slug_id}] if slug_id else [],
            "addon_plan_names": [],
            "output_stream_url": None,
            "eligible_for_rollback": r.status == "succeeded" and not r.current,
        }

    def slug_body(self, app: HerokuApp, r: HerokuRelease) -> dict[str, Any]:
        slug_id = stable_uuid("slug", app.name, r.id)
        return {
            "id": slug_id,
            "commit": r.commit,
            "commit_description": r.description,
            "buildpack_provided_description": None,
            "checksum": "SHA256:" + hashlib.sha256(slug_id.encode()).hexdigest(),
            "process_types": {"web": "bin/web"},
            "size": 0,
            "stack": {"id": stable_uuid("stack", "heroku-24"), "name": "heroku-24"},
            "blob": {"method": "get", "url": f"https://slugs.example.invalid/{slug_id}.tgz"},
            "created_at": iso(r.created_at),
            "updated_at": iso(r.created_at),
        }

    def _releases(self, app: HerokuApp, field: str) -> tuple[list[HerokuRelease], list[Any]]:
        """Releases ascending by `field`, with their keys for bisection."""
        key = (app.name, field)
        cached = self._sorted.get(key)
        if cached is None:
            releases = sorted(app.releases, key=lambda r: r.version if field == "version" else r.id)
            keys: list[Any] = [r.version if field == "version" else r.id for r in releases]
            cached = self._sorted[key] = (releases, keys)
        return cached

    def list_releases(
        self, app_name: str, range_header: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        app = self._app(app_name)
        spec = parse_range(range_header)
        releases, keys = self._releases(app, spec.field)

        def coerce(v: str) -> Any:
            return int(v) if spec.field == "version" else v

        # [lo, hi) of the ascending list that the range covers; `start` bounds the first value
        # in the requested order, `end` the last one
        lo, hi = 0, len(keys)
        if spec.order == "asc":
            if spec.start:
                bound = coerce(spec.start)
                lo = bisect_right(keys, bound) if spec.exclusive else bisect_left(keys, bound)
            if spec.end:
                hi = bisect_right(keys, coerce(spec.end))
            page = releases[lo : min(hi, lo + spec.max)]
        else:
            if spec.start:
                bound = coerce(spec.start)
                hi = bisect_left(keys, bound) if spec.exclusive else bisect_right(keys, bound)
            if spec.end:
                lo = bisect_left(keys, coerce(spec.end))
            page = releases[max(lo, hi - spec.max) : hi][::-1] if hi > lo else []
        headers = {"accept-ranges": ", ".join(RANGE_FIELDS)}

        def key(r: HerokuRelease) -> Any:
            return r.version if spec.field == "version" else r.id

        if page:
            headers["content-range"] = f"{spec.field} {key(page[0])}..{key(page[-1])}"
        status = 200
        if hi - lo > spec.max:
            status = 206
            headers["next-range"] = spec.next_range(str(key(page[-1])))
        return status, [self.release_body(app, r) for r in page], headers

    def get_release(self, app_name: str, ident: str) -> dict[str, Any]:
        app = self._app(app_name)
        for r in app.releases:
            if r.id == ident or (ident.isdigit() and r.version == int(ident)):
                return self.release_body(app, r)
        raise HerokuError(404, "not_found", "Couldn't find that release.", resource="release")

    def get_slug(self, app_name: str, slug_id: str) -> dict[str, Any]:
        app = self._app(app_name)
        for r in app.releases:
            if r.commit and stable_uuid("slug", app.name, r.id) == slug_id:
                return self.slug_body(app, r)
        raise HerokuError(404, "not_found", "Couldn't find that slug.", resource="slug")

    def respond(self, request: Request, template: str) -> Response:
        """Auth, Accept version, then the endpoint; every answer but 401/400 spends 1."""
        if not AUTH_RE.match(request.headers.get("authorization", "")):
            return self._json(
                401,
                {
                    "id": "unauthorized",
                    "message": "There were no credentials in your `Authorization` header. "
                    "Try `Authorization: Bearer <OAuth access token>`.",
                },
                spend=False,
            )
        if not ACCEPT_RE.search(request.headers.get("accept", "")):
            return self._json(
                400,
                {
                    "id": "missing_version",
                    "message": "Please specify a version along with Heroku's API MIME type. "
                    "For example, `Accept: application/vnd.heroku+json; version=3`.",
                },
                spend=False,
            )
        p = request.path_params
        try:
            if template.endswith("/releases"):
                status, body, headers = self.list_releases(p["app"], request.headers.get("range"))
            elif template.endswith("/releases/{release}"):
                status, body, headers = 200, self.get_release(p["app"], p["release"]), {}
            elif template.endswith("/slugs/{slug}"):
                status, body, headers = 200, self.get_slug(p["app"], p["slug"]), {}
            elif template.endswith("/apps/{app}"):
                status, body, headers = 200, self.app_body(self._app(p["app"])), {}
            else:
                raise HerokuError(404, "not_found", "The requested API endpoint was not found.")
        except HerokuError as exc:
            return self._json(exc.status, exc.body, spend=exc.status != 400)
        return self._json(status, body, True, headers, request.headers.get("if-none-match"))

    def _json(
        self,
        status: int,
        body: Any,
        spend: bool,
        extra: dict[str, str] | None = None,
        if_none_match: str | None = None,
    ) -> Response:
        raw = dumps(body)
        etag = f'"{hashlib.sha256(raw).hexdigest()[:32]}"'
        if if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
            # Heroku: "304 Not Modified … with an empty body"
            headers = {"ratelimit-remaining": str(self.remaining(False)), "etag": etag}
            return Response(b"", status_code=304, headers=headers)
        headers = {
            "ratelimit-remaining": str(self.remaining(spend)),
            "request-id": str(uuid.uuid4()),
            "etag": etag,
            **(extra or {}),
        }
        return Response(raw, status_code=status, headers=headers, media_type="application/json")


HEROKU_ROUTES = (
    "/heroku/apps/{app}",
    "/heroku/apps/{app}/releases",
    "/heroku/apps/{app}/releases/{release}",
    "/heroku/apps/{app}/slugs/{slug}",
)
