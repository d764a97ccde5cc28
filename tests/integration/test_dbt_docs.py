"""The dbt project's docs are complete and true to the warehouse `fourkeys transform` builds.

`dbt parse` gives the manifest (descriptions, documented columns, data tests); `dbt docs
generate` on a real DuckDB warehouse built by `fourkeys transform` gives the catalog (the columns
each relation really has). Every model, seed and raw source table must be described; every
built column documented with a non-empty description, and no documented column missing from the
built relation (stale docs); every model's key tested, by `unique` + `not_null` (itself or
folded into the model's `not_null_columns`) on one column or by the project's
`unique_combination` generic test. The warehouse is empty: the catalog's columns
do not depend on the data (tests/integration/test_transform.py runs the data tests on real data).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fourkeys.config import load_config
from fourkeys.transform import dbt_args, run_dbt
from tests.conftest import run_cli

AS_OF = "2026-03-01"
PACKAGE = "fourkeys"
# what a column-level test must be to count towards a model's key
KEY_TESTS = ("unique", "not_null")
COMBINATION_TEST = "unique_combination"
NOT_NULL_COLUMNS_TEST = "not_null_columns"

# two services of two deployment sources and one incident source: enough for `dbt_vars` to give
# every var a real value; the raw tables stay empty (no extract), which the catalog does not mind
CONFIG = """\
[warehouse]
path = {warehouse}

[github]
api_url = "http://127.0.0.1:9"
token_env = "GITHUB_TOKEN"

[[services]]
name = "checkout-api"
team = "payments"
repository = "acme/checkout"
deployment_source = "github_deployments"

[[services]]
name = "web"
team = "storefront"
repository = "acme/web"
branch = "main"
deployment_source = "workflow_runs"
workflow = "deploy.yml"

[[incident_sources]]
type = "github_issues"
repository = "acme/checkout"
label = "incident"
service = "checkout-api"
"""


@dataclass
class DocsBuild:
    manifest: dict[str, Any]  # from `dbt parse`
    catalog: dict[str, Any]  # from `dbt docs generate`
    target: Path


def _invoke(args: list[str], warehouse: Path) -> None:
    # run_dbt sets these in os.environ for dbt; set them through MonkeyPatch first so that
    # leaving the context restores the test process's environment
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DO_NOT_TRACK", "1")
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        patch.setenv("FOURKEYS_DUCKDB_PATH", str(warehouse))
        result = run_dbt(args, warehouse)
    assert result.success and result.exception is None, (
        f"dbt {' '.join(args[:2])} failed: {result.exception or result.result}"
    )


@pytest.fixture(scope="module")
def docs_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsBuild]:
    directory = tmp_path_factory.mktemp("docs")
    config_path = directory / "fourkeys.toml"
    warehouse = directory / "fourkeys.duckdb"
    config_path.write_text(CONFIG.format(warehouse=json.dumps(str(warehouse))), encoding="utf-8")
    built = run_cli("transform", "--config", str(config_path), "--as-of", AS_OF)
    assert built.returncode == 0, built.stderr
    config = load_config(str(config_path))
    parse = dbt_args("parse", config)
    target = Path(parse[parse.index("--target-path") + 1])
    _invoke(parse, warehouse)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    # `dbt_args` puts the command first: `docs generate` is two words
    _invoke(["docs", *dbt_args("generate", config)], warehouse)
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    yield DocsBuild(manifest, catalog, target)


def _ours(node: dict[str, Any], *kinds: str) -> bool:
    return node["resource_type"] in kinds and node["package_name"] == PACKAGE


def models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {uid: node for uid, node in manifest["nodes"].items() if _ours(node, "model")}


def documented_relations(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Models, seeds and raw source tables: everything with a relation in the catalog."""
    nodes = {uid: node for uid, node in manifest["nodes"].items()
             if _ours(node, "model", "seed")}
    nodes.update({uid: node for uid, node in manifest["sources"].items()
                  if _ours(node, "source")})
    return nodes


def label(node: dict[str, Any]) -> str:
    if node["resource_type"] == "source":
        return f"source {node['source_name']}.{node['name']}"
    return f"{node['resource_type']} {node['name']}"


def catalog_columns(catalog: dict[str, Any], uid: str) -> set[str] | None:
    entry = catalog["nodes"].get(uid) or catalog["sources"].get(uid)
    if entry is None:
        return None
    return {name.lower() for name in entry["columns"]}


def test_every_model_seed_and_source_has_a_description(docs_build: DocsBuild) -> None:
    nodes = documented_relations(docs_build.manifest)
    assert len(models(docs_build.manifest)) > 30
    missing = sorted(label(node) for node in nodes.values()
                     if not (node.get("description") or "").strip())
    assert not missing, "no description:\n  " + "\n  ".join(missing)


def test_every_built_column_is_documented(docs_build: DocsBuild) -> None:
    offences: list[str] = []
    for uid, node in sorted(documented_relations(docs_build.manifest).items()):
        built = catalog_columns(docs_build.catalog, uid)
        if built is None:
            offences.append(f"{label(node)}: not in the catalog (was it built?)")
            continue
        described = {name.lower() for name, column in node["columns"].items()
                     if (column.get("description") or "").strip()}
        empty = {name.lower() for name in node["columns"]} - described
        offences += [f"{label(node)}.{name}: empty description" for name in sorted(empty)]
        offences += [f"{label(node)}.{name}: not documented"
                     for name in sorted(built - described - empty)]
    assert not offences, (
        f"{len(offences)} built columns without docs:\n  " + "\n  ".join(offences)
    )


def test_no_documented_column_is_stale(docs_build: DocsBuild) -> None:
    stale: list[str] = []
    for uid, node in sorted(documented_relations(docs_build.manifest).items()):
        built = catalog_columns(docs_build.catalog, uid)
        if built is None:
            continue  # reported by test_every_built_column_is_documented
        stale += [f"{label(node)}.{name}" for name in sorted(node["columns"])
                  if name.lower() not in built]
    assert not stale, (
        "documented but not in the built relation (stale docs):\n  " + "\n  ".join(stale)
    )


def key_tests(manifest: dict[str, Any]) -> tuple[dict[str, dict[str, set[str]]],
                                                 dict[str, list[list[str]]]]:
    """Per model: column → the key tests on it; and its unique_combination column lists."""
    by_column: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    combinations: dict[str, list[list[str]]] = defaultdict(list)
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata")
        if node["resource_type"] != "test" or not metadata:
            continue
        attached = node.get("attached_node")
        if metadata["name"] in KEY_TESTS and node.get("column_name"):
            by_column[attached][node["column_name"].lower()].add(metadata["name"])
        elif metadata["name"] == NOT_NULL_COLUMNS_TEST:  # the model's not_null tests, folded
            for column in metadata["kwargs"]["columns"]:
                by_column[attached][column.lower()].add("not_null")
        elif metadata["name"] == COMBINATION_TEST:
            combinations[attached].append(list(metadata["kwargs"]["columns"]))
    return by_column, combinations


def test_every_model_key_is_tested(docs_build: DocsBuild) -> None:
    by_column, combinations = key_tests(docs_build.manifest)
    untested: list[str] = []
    for uid, node in sorted(models(docs_build.manifest).items()):
        single = [column for column, tests in by_column[uid].items()
                  if set(KEY_TESTS) <= tests]
        if not single and not combinations[uid]:
            untested.append(node["name"])
    assert not untested, (
        "no unique + not_null (or unique_combination) test on a key:\n  "
        + "\n  ".join(untested)
    )


def test_docs_generate_writes_the_site(docs_build: DocsBuild) -> None:
    assert (docs_build.target / "index.html").is_file()
    assert not docs_build.catalog.get("errors"), docs_build.catalog["errors"]
    built = set(docs_build.catalog["nodes"])
    assert set(models(docs_build.manifest)) <= built, (
        sorted(set(models(docs_build.manifest)) - built)
    )
