"""fourkeys.toml → typed, validated settings. The only reader of the config file.

Every mistake becomes one `FourKeysError` line naming the file, the key and the fix. Tokens are
never read from the file: the file names the environment variable that holds them.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from fourkeys.errors import FourKeysError
from fourkeys.paths import path_glob_problem, path_glob_regex
from fourkeys.teams_file import TeamRule, TeamsFileError, glob_problem, read_teams_file

DEPLOYMENT_SOURCES = (
    "github_deployments",
    "workflow_runs",
    "releases",
    "merged_pull_requests",
    "heroku_releases",
)
INCIDENT_SOURCES = ("github_issues", "pagerduty", "slack_bot", "csv")
FAILURE_SIGNALS = ("incidents", "reverts", "rollbacks", "request_errors")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# a token pasted where the NAME of its variable belongs (GitHub's prefixes, a classic 40-hex PAT)
TOKEN_LIKE_RE = re.compile(r"^(gh[pousr]_|github_pat_|HRKU-)|^[0-9a-f]{40}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseConfig(_Section):
    type: Literal["duckdb", "bigquery"] = "duckdb"
    path: str = "data/fourkeys.duckdb"
    project: str | None = None
    dataset: str = "fourkeys"
    location: str = "US"


class _TokenSection(_Section):
    api_url: str
    token_env: str

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://api.github.com")
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _env(cls, value: str) -> str:
        # never echo the value: it may be the token itself
        if TOKEN_LIKE_RE.match(value):
            raise ValueError(
                "looks like a token, not a variable name; put the token in an environment "
                "variable and its NAME here, e.g. GITHUB_TOKEN"
            )
        if not ENV_NAME_RE.match(value):
            raise ValueError("must be the NAME of an environment variable, e.g. GITHUB_TOKEN")
        return value


class GitHubConfig(_TokenSection):
    api_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"
    concurrency: int = Field(default=4, ge=1, le=32)
    max_rate_limit_wait_seconds: int = Field(default=900, ge=0)
    lookback_days: int = Field(default=3, ge=0, le=90)

    @property
    def graphql_url(self) -> str:
        """github.com: <api>/graphql; GHES: https://HOST/api/v3 → https://HOST/api/graphql."""
        if self.api_url.endswith("/api/v3"):
            return self.api_url[: -len("/v3")] + "/graphql"
        return self.api_url + "/graphql"


class HerokuConfig(_TokenSection):
    api_url: str = "https://api.heroku.com"
    token_env: str = "HEROKU_API_KEY"


class PagerDutyConfig(_TokenSection):
    api_url: str = "https://api.pagerduty.com"
    token_env: str = "PAGERDUTY_TOKEN"


class SlackConfig(_Section):
    api_url: str = "https://slack.com/api/"
    bot_database: str = "data/incident_bot.sqlite"  # or a postgresql:// URL
    channel: str = "#incidents"  # where the bot opens one thread per incident

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"


class NoticesConfig(_Section):
    """Slack incoming-webhook notices of runs; the URL is a secret, so only its variable's
    name is here."""

    webhook_env: str = "FOURKEYS_SLACK_WEBHOOK_URL"
    on_failure: bool = True
    on_success: bool = False

    @field_validator("webhook_env")
    @classmethod
    def _env(cls, value: str) -> str:
        if value.startswith(("http://", "https://")) or not ENV_NAME_RE.match(value):
            raise ValueError(
                "must be the NAME of an environment variable that holds the webhook URL, "
                "e.g. FOURKEYS_SLACK_WEBHOOK_URL (the URL is a secret; keep it out of the file)"
            )
        return value

    def webhook_url(self) -> str | None:
        return os.environ.get(self.webhook_env, "").strip() or None


class RequestsConfig(_Section):
    """Request logs → per-minute counts → a deployment is `degraded` when its 5xx ratio rose
    significantly after it (failure signal "request_errors")."""

    service: str | None = None  # for logs that name no service (the combined format)
    service_field: str = "service"  # JSON lines: the field that names the service
    window_minutes: int = Field(default=30, ge=1, le=1440)
    p_value: float = Field(default=0.01, gt=0, lt=0.5)
    min_margin: float = Field(default=0.02, ge=0, lt=1)  # absolute rise of the 5xx ratio
    min_requests: int = Field(default=50, ge=1)  # in each window, else no verdict


class ServiceConfig(_Section):
    name: str
    team: str
    repository: str
    branch: str | None = None
    deployment_source: str
    environment: str | None = None
    workflow: str | None = None
    heroku_app: str | None = None
    # monorepos (docs/monorepos.md): the service's changes are those touching these globs;
    # None = every change of the repository
    paths: list[str] | None = None
    tag_prefix: str | None = None  # releases: only tags starting with this, e.g. "checkout-v"

    @field_validator("name", "team")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('must not be empty, e.g. "checkout-api" / "payments"')
        return value

    @field_validator("repository")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not REPO_RE.match(value):
            raise ValueError("must be 'owner/name', e.g. 'acme/checkout'")
        return value

    @field_validator("deployment_source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in DEPLOYMENT_SOURCES:
            raise ValueError(f"must be one of {', '.join(DEPLOYMENT_SOURCES)}")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        if value is not None and value.startswith("re:"):
            try:
                re.compile(value[3:])
            except re.error as exc:
                raise ValueError(f"'re:' pattern does not compile ({exc})") from None
        return value

    @field_validator("paths", mode="before")
    @classmethod
    def _paths_list(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, list):
            raise ValueError('must be a list of globs, e.g. paths = ["services/checkout/**"]')
        return value

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("paths = [] matches nothing; list globs such as "
                             '["services/checkout/**"], or remove paths to take every change')
        for glob in value:
            problem = path_glob_problem(glob)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("tag_prefix")
    @classmethod
    def _tag_prefix(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError('must not be empty, e.g. "checkout-v"; remove it to count every '
                             "release")
        return value

    @model_validator(mode="after")
    def _source_keys(self) -> ServiceConfig:
        needed = {
            "github_deployments": ("environment", "production"),
            "workflow_runs": ("workflow", None),
            "heroku_releases": ("heroku_app", None),
        }.get(self.deployment_source)
        if needed and needed[1] is None and getattr(self, needed[0]) is None:
            raise ValueError(
                f"deployment_source {self.deployment_source!r} needs {needed[0]} = \"...\""
            )
        if self.tag_prefix is not None and self.deployment_source != "releases":
            raise ValueError(
                'tag_prefix only applies to deployment_source "releases"; remove it'
            )
        return self

    @property
    def path_patterns(self) -> list[str]:
        """`paths` as regexes matched against whole repository paths (fourkeys/paths.py)."""
        return [path_glob_regex(glob) for glob in self.paths or ()]

    @property
    def environment_or_default(self) -> str:
        return self.environment or "production"


class IncidentSourceConfig(_Section):
    type: str
    repository: str | None = None  # github_issues
    label: str = "incident"  # github_issues
    service: str | None = None  # default service for records that name none
    path: str | None = None  # csv: a .csv or .jsonl file (relative to the config file)
    # pagerduty: read only this PagerDuty service (id or name); its incidents go to `service`.
    # Without it every incident is read and goes to the fourkeys service of the same name,
    # else to `service`.
    pagerduty_service: str | None = None
    # pagerduty: which urgencies are incidents; low-urgency alerts (a disk filling up, a flapping
    # synthetic check) page nobody and are not outages, so they are left out by default
    urgencies: list[Literal["high", "low"]] = Field(default_factory=lambda: ["high"])

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in INCIDENT_SOURCES:
            raise ValueError(f"must be one of {', '.join(INCIDENT_SOURCES)}")
        return value

    @model_validator(mode="after")
    def _repo_needed(self) -> IncidentSourceConfig:
        if self.type == "github_issues":
            if not self.repository:
                raise ValueError('type "github_issues" needs repository = "owner/name"')
            if not REPO_RE.match(self.repository):
                raise ValueError("repository must be 'owner/name', e.g. 'acme/checkout'")
        if self.type == "csv" and not self.path:
            raise ValueError('type "csv" needs path = "incidents.csv" (or a .jsonl file)')
        return self


class OrganizationConfig(_Section):
    """Every repository of a GitHub organisation becomes a service (docs/discovery.md): the
    name globs and archived/fork filters pick them, the service settings below apply to each,
    and the team comes from `teams_file`, else CODEOWNERS, else `default_team`."""

    name: str  # the organisation's login
    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)
    include_archived: bool = False
    include_forks: bool = False
    deployment_source: str
    environment: str | None = None
    workflow: str | None = None
    branch: str | None = None
    teams_file: str | None = None  # .toml or .csv, relative to the config file
    codeowners: bool = True
    default_team: str = "unassigned"

    # the teams file's rules, read by parse_config (a missing or bad file fails the load)
    _team_rules: tuple[TeamRule, ...] = PrivateAttr(default=())

    @field_validator("name")
    @classmethod
    def _login(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]+$", value):
            raise ValueError('must be the organisation\'s login, e.g. "acme" (not a URL)')
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _globs(cls, value: list[str]) -> list[str]:
        for pattern in value:
            problem = glob_problem(pattern, with_owner=False)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("include")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('include = [] selects nothing; use ["*"] for every repository')
        return value

    @field_validator("deployment_source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value == "heroku_releases":
            raise ValueError("heroku_releases needs a heroku_app per service; list those "
                             "services in [[services]]")
        if value not in DEPLOYMENT_SOURCES:
            raise ValueError(f"must be one of {', '.join(DEPLOYMENT_SOURCES[:-1])}")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str | None) -> str | None:
        return ServiceConfig._environment(value)  # the [[services]] rule, named here

    @field_validator("default_team")
    @classmethod
    def _team(cls, value: str) -> str:
        if not value.strip():
            raise ValueError('must not be empty, e.g. "unassigned"')
        return value

    @field_validator("teams_file")
    @classmethod
    def _teams_file(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().endswith((".toml", ".csv")):
            raise ValueError('must be a .toml or .csv file, e.g. "teams.toml"')
        return value

    @model_validator(mode="after")
    def _as_a_service(self) -> OrganizationConfig:
        """The settings every discovered service gets obey the [[services]] rules."""
        try:
            self.service(f"{self.name}/probe", "probe", "probe")
        except ValidationError as exc:
            raise ValueError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
        return self

    @property
    def team_rules(self) -> tuple[TeamRule, ...]:
        return self._team_rules

    def service(self, repository: str, name: str, team: str) -> ServiceConfig:
        return ServiceConfig(
            name=name, team=team, repository=repository, branch=self.branch,
            deployment_source=self.deployment_source, environment=self.environment,
            workflow=self.workflow,
        )


class MetricsConfig(_Section):
    attribution_window_days: int = Field(default=7, ge=1, le=90)
    # an outage recorded in several incident sources (a page and an issue) counts once when
    # the records start this close on the same service; 0 never merges
    incident_merge_minutes: int = Field(default=60, ge=0, le=1440)
    dora_year: Literal[2021, 2023, 2024] = 2024
    failure_signals: list[str] = Field(
        default_factory=lambda: ["incidents", "reverts", "rollbacks"]
    )

    @field_validator("failure_signals")
    @classmethod
    def _signals(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in FAILURE_SIGNALS]
        if unknown:
            raise ValueError(f"unknown signal {unknown[0]!r}; use {', '.join(FAILURE_SIGNALS)}")
        return value


class Config(_Section):
    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    github: GitHubConfig = Field(default_factory=GitHubConfig)
    heroku: HerokuConfig | None = None
    pagerduty: PagerDutyConfig | None = None
    slack: SlackConfig = Field(default_factory=SlackConfig)
    notices: NoticesConfig = Field(default_factory=NoticesConfig)
    requests: RequestsConfig = Field(default_factory=RequestsConfig)
    services: list[ServiceConfig] = Field(default_factory=list)
    incident_sources: list[IncidentSourceConfig] = Field(default_factory=list)
    organizations: list[OrganizationConfig] = Field(default_factory=list)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)

    # set by load_config: where the file was, so relative paths resolve next to it
    source_path: Path | None = Field(default=None, exclude=True)

    @property
    def repositories(self) -> list[str]:
        """Every repository the extractor reads, in config order, without duplicates."""
        seen: dict[str, None] = {}
        for service in self.services:
            seen.setdefault(service.repository.lower(), None)
        for source in self.incident_sources:
            if source.type == "github_issues" and source.repository:
                seen.setdefault(source.repository.lower(), None)
        return list(seen)

    def warehouse_path(self) -> Path:
        return self.resolve_path(self.warehouse.path)

    def resolve_path(self, value: str) -> Path:
        """A path from the file, relative to the file's folder."""
        path = Path(value)
        if not path.is_absolute() and self.source_path is not None:
            path = self.source_path.parent / path
        return path

    def bot_database_url(self) -> str:
        """[slack] bot_database as an SQLAlchemy URL: a postgresql:// URL as is, else an
        SQLite file resolved next to the config file."""
        value = self.slack.bot_database
        if "://" in value:
            return value
        return f"sqlite:///{self.resolve_path(value).resolve()}"

    def github_token(self) -> str:
        return _token(self.github.token_env, "github", self.source_path)

    def heroku_token(self) -> str:
        if self.heroku is None:
            raise FourKeysError(
                f"{self.source_path}: [heroku] is missing; add api_url and token_env"
            )
        return _token(self.heroku.token_env, "heroku", self.source_path)

    def pagerduty_token(self) -> str:
        if self.pagerduty is None:
            raise FourKeysError(
                f"{self.source_path}: [pagerduty] is missing; add api_url and token_env"
            )
        return _token(self.pagerduty.token_env, "pagerduty", self.source_path)

    def require_tokens(self) -> None:
        """Check every token `extract` will need, so a missing one fails before anything is
        written (not halfway through the run, after the warehouse was opened)."""
        self.github_token()
        if any(s.deployment_source == "heroku_releases" for s in self.services):
            self.heroku_token()
        if any(s.type == "pagerduty" for s in self.incident_sources):
            self.pagerduty_token()


def _token(env_name: str, section: str, where: Path | None) -> str:
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise FourKeysError(
            f"{where}: [{section}] token_env names ${env_name}, which is not set; "
            f"export {env_name}=<token> (the token never goes in the file)"
        )
    return value


def config_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get("FOURKEYS_CONFIG"):
        return Path(os.environ["FOURKEYS_CONFIG"])
    return Path("fourkeys.toml")


def _origin(explicit: str | None) -> str:
    if explicit:
        return "--config"
    if os.environ.get("FOURKEYS_CONFIG"):
        return "$FOURKEYS_CONFIG"
    return "the default ./fourkeys.toml"


def load_config(explicit: str | None = None) -> Config:
    """Read and validate the config; raise FourKeysError with one line on any mistake."""
    path = config_path(explicit)
    origin = _origin(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FourKeysError(
            f"{path}: config file not found (from {origin}); pass --config PATH, set "
            "FOURKEYS_CONFIG, or copy fourkeys.example.toml to ./fourkeys.toml"
        ) from None
    except IsADirectoryError:
        raise FourKeysError(
            f"{path}: is a directory, not a config file (from {origin}); give the file's path, "
            f"e.g. {path / 'fourkeys.toml'}"
        ) from None
    except UnicodeDecodeError as exc:
        raise FourKeysError(
            f"{path}: is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:  # permission denied, a path through a regular file, ...
        reason = exc.strerror or type(exc).__name__
        raise FourKeysError(
            f"{path}: cannot read the config ({reason}); check the path given by {origin}"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FourKeysError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise FourKeysError(f"{path}: {_describe(exc, raw)}") from None
    config = config.model_copy(update={"source_path": path})
    _check_consistency(config, path)
    return config


def _key_name(loc: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """('services', 1, 'deployment_source') → services[1] (name "x").deployment_source"""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict):
                name = node[item].get("name") or node[item].get("type")
                if isinstance(name, str):
                    label += f' (name "{name}")' if "name" in node[item] else f' ("{name}")'
                node = node[item]
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def _describe(exc: ValidationError, raw: dict[str, Any]) -> str:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = _key_name(loc, raw) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key {key!r}; remove it or check its spelling against the contract"
    if kind == "missing":
        return f"missing key {key!r}; add it"
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"{key}: {msg} (got {err.get('input')!r})"
    if kind in {"model_type", "dict_type"}:
        if len(loc) >= 2 and isinstance(loc[-1], int):  # an entry of a list of tables
            return f"{key}: must be a table; write each entry as [[{loc[-2]}]]"
        return f"{key}: must be a table; write it as [{loc[-1]}]"
    if kind == "list_type" and loc and loc[-1] in _TABLE_LISTS:
        return f"{key}: must be a list of tables; write each entry as [[{loc[-1]}]]"
    return f"{key}: {msg}"


_TABLE_LISTS = ("services", "incident_sources", "organizations")


def _check_consistency(config: Config, path: Path) -> None:
    if not config.services and not config.organizations:
        raise FourKeysError(
            f"{path}: no [[services]]; add at least one service (or an [[organizations]] entry "
            "to discover them)"
        )
    _check_organizations(config, path)
    names: set[str] = set()
    for index, service in enumerate(config.services):
        if service.name in names:
            raise FourKeysError(
                f'{path}: services[{index}].name "{service.name}" is used twice; '
                "service names must be unique"
            )
        names.add(service.name)
        if service.deployment_source == "heroku_releases" and config.heroku is None:
            raise FourKeysError(
                f'{path}: services[{index}] (name "{service.name}") uses heroku_releases but '
                "[heroku] is missing; add [heroku] with api_url and token_env"
            )
    # with [[organizations]] a name may be a discovered service: checked after discovery
    discovering = bool(config.organizations)
    for index, source in enumerate(config.incident_sources):
        if source.service and source.service not in names and not discovering:
            raise FourKeysError(
                f'{path}: incident_sources[{index}].service "{source.service}" is not a '
                "configured service; use one of the [[services]] names"
            )
        if source.type == "pagerduty" and config.pagerduty is None:
            raise FourKeysError(
                f"{path}: incident_sources[{index}] is pagerduty but [pagerduty] is missing; "
                "add [pagerduty] with api_url and token_env"
            )
    if config.requests.service and config.requests.service not in names and not discovering:
        raise FourKeysError(
            f'{path}: requests.service "{config.requests.service}" is not a configured '
            "service; use one of the [[services]] names"
        )


def _check_organizations(config: Config, path: Path) -> None:
    """Each organisation once; its teams file read now, so a bad one fails before any work."""
    logins: set[str] = set()
    for index, org in enumerate(config.organizations):
        key = f'organizations[{index}] (name "{org.name}")'
        if org.name.lower() in logins:
            raise FourKeysError(
                f"{path}: {key} is listed twice; keep one [[organizations]] entry per organisation"
            )
        logins.add(org.name.lower())
        if org.teams_file is not None:
            try:
                org._team_rules = read_teams_file(config.resolve_path(org.teams_file))
            except TeamsFileError as exc:
                raise FourKeysError(f"{path}: {key}.teams_file: {exc}") from None
