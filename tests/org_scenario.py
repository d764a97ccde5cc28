"""A hand-built organisation for [[organizations]] discovery tests (tests/integration/
test_org_discovery.py, tests/bad_inputs/test_bad_discovery.py).

GitHub organisation `acme`, 13 repositories (plus `globex/other`, another owner's):

| repository         | facts                                        | expected service → team  |
| ------------------ | -------------------------------------------- | ------------------------ |
| acme/api           | explicit [[services]] "api-gateway" (core)   | not discovered           |
| acme/website       | explicit [[services]] "web" (web)            | not discovered           |
| acme/billing       | CODEOWNERS `* @acme/payments`; teams `bill*` | billing → finance        |
| acme/checkout      | .github/CODEOWNERS `* @acme/payments`        | checkout → payments      |
| acme/checkout-fork | a fork                                       | not discovered           |
| acme/infra         | .github/ `@acme/sre`, root `@acme/platform`  | infra → sre (.github/)   |
| acme/ledger        | no CODEOWNERS; teams file `ledger*`          | ledger → finance         |
| acme/legacy-api    | archived                                     | not discovered           |
| acme/orders        | `*` twice: payments, then Fulfilment         | orders → fulfilment      |
| acme/sandbox-tools | exclude = ["sandbox-*"]                      | not discovered           |
| acme/search        | root CODEOWNERS `* @acme/discovery`          | search → discovery       |
| acme/tools         | CODEOWNERS without a `*` rule                | tools → platform (default) |
| acme/web           | docs/CODEOWNERS `* @alice @acme/frontend`    | acme/web → frontend (1)  |

(1) the name "web" is a configured service's: the discovered one is named `owner/name`.
The teams file wins over CODEOWNERS (billing) and its first matching glob wins ("bill*" before
"billing").

Every repository has two commits on main and one successful production deployment of the
second, so each service has exactly one deployment in fct_deployments.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tests.scenario_builder import ScenarioBuilder

ORG_REPOS = ("api", "website", "billing", "checkout", "checkout-fork", "infra", "ledger",
             "legacy-api", "orders", "sandbox-tools", "search", "tools", "web")

CODEOWNERS: dict[str, dict[str, str]] = {
    "billing": {".github/CODEOWNERS": "* @acme/payments\n"},
    "checkout": {".github/CODEOWNERS": "# checkout\n*       @acme/payments\n/docs/ @acme/docs\n"},
    "infra": {".github/CODEOWNERS": "* @acme/sre\n", "CODEOWNERS": "* @acme/platform\n"},
    "orders": {"CODEOWNERS": "*  @acme/payments\n!/vendor/ @acme/vendors\n"
                             "*.sql @acme/data\n*  @Acme/Fulfilment   # since March\n"},
    "search": {"CODEOWNERS": "* @acme/discovery\n/docs/ @acme/docs-team\n"},
    "tools": {".github/CODEOWNERS": "*.md @acme/docs\n/scripts/ @bob\n"},
    "web": {"docs/CODEOWNERS": "*  @alice @acme/frontend # the web team\n"},
}

# service → (team, repository), worked out by hand from the table above
EXPECTED_SERVICES = {
    "api-gateway": ("core", "acme/api"),
    "web": ("web", "acme/website"),
    "billing": ("finance", "acme/billing"),
    "checkout": ("payments", "acme/checkout"),
    "infra": ("sre", "acme/infra"),
    "ledger": ("finance", "acme/ledger"),
    "orders": ("fulfilment", "acme/orders"),
    "search": ("discovery", "acme/search"),
    "tools": ("platform", "acme/tools"),
    "acme/web": ("frontend", "acme/web"),
}

TEAMS_TOML = '''# repository glob → team; the first match wins
"bill*" = "finance"
"billing" = "payments"
"ledger*" = "finance"
"acme/zzz-*" = "nobody"
'''


def build_scenario() -> dict[str, Any]:
    org = ScenarioBuilder(now="2026-02-02 00:00")
    ids = itertools.count(5001)
    for name in (*ORG_REPOS, "globex/other"):
        repo = org.repo(name if "/" in name else f"acme/{name}")
        repo.commit(f"{name}-1", authored="2026-01-05 09:00")
        head = repo.commit(f"{name}-2", authored="2026-01-06 09:00")
        repo.deployment(next(ids), head, created="2026-01-06 10:00",
                        statuses=[("success", "2026-01-06 10:05")])
    scenario = org.build()
    by_name = {r["full_name"]: r for r in scenario["repositories"]}
    by_name["acme/legacy-api"]["archived"] = True
    by_name["acme/checkout-fork"]["fork"] = True
    for name, files in CODEOWNERS.items():
        by_name[f"acme/{name}"]["files"] = files
    return scenario


def config_toml(base_url: str, warehouse: Path, *, teams_file: str = "teams.toml") -> str:
    return f'''[warehouse]
path = "{warehouse}"

[github]
api_url = "{base_url}"
token_env = "GITHUB_TOKEN"

[[services]]
name = "api-gateway"
team = "core"
repository = "acme/api"
deployment_source = "github_deployments"

[[services]]
name = "web"
team = "web"
repository = "acme/website"
deployment_source = "github_deployments"

[[organizations]]
name = "acme"
exclude = ["sandbox-*"]
deployment_source = "github_deployments"
environment = "production"
teams_file = "{teams_file}"
codeowners = true
default_team = "platform"
'''


def write_config(directory: Path, base_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "teams.toml").write_text(TEAMS_TOML, encoding="utf-8")
    path = directory / "fourkeys.toml"
    path.write_text(config_toml(base_url, directory / "fourkeys.duckdb"), encoding="utf-8")
    return path
