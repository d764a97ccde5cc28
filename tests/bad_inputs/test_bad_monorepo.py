"""Bad monorepo settings (`paths`, `tag_prefix`): one line, exit 1, no traceback, nothing written.

Each case starts from the valid config of tests/monorepo_scenario.py (an unmutated copy runs
successfully against the served fake: tests/integration/test_monorepo.py), makes one mistake in
the `checkout` service, and runs the real `fourkeys extract` in a subprocess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.bad_inputs.test_bad_config import assert_one_line_error, listing
from tests.conftest import run_cli
from tests.monorepo_scenario import build_mono, write_config

CHECKOUT_PATHS = 'paths = ["services/checkout/**", "libs/pay/**"]'
CHECKOUT = 'services[0] (name "checkout")'


@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]
    edit: Callable[[str], str]


def _paths(value: str) -> Callable[[str], str]:
    """Replace checkout's `paths` line with `paths = <value>`."""
    def edit(text: str) -> str:
        assert CHECKOUT_PATHS in text
        return text.replace(CHECKOUT_PATHS, f"paths = {value}")
    return edit


def _add(line: str) -> Callable[[str], str]:
    """Add a line to the checkout service."""
    return lambda text: text.replace(CHECKOUT_PATHS, f"{CHECKOUT_PATHS}\n{line}")


CASES = [
    Case("character_class", (CHECKOUT, ".paths", "character classes", "*, ? and **"),
         _paths('["services/[ab]*/**"]')),
    Case("braces", (".paths", "braces"), _paths('["services/{checkout,pay}/**"]')),
    Case("backslash", (".paths", "backslash"), _paths('["services\\\\checkout"]')),
    Case("double_star_inside_a_segment", (".paths", "whole path segment", '"**/*.js"'),
         _paths('["**.js"]')),
    Case("parent_segment", (".paths", '".."', "repository root"),
         _paths('["../services/checkout/**"]')),
    Case("negation", (".paths", "negation", "only the paths"), _paths('["!docs/**"]')),
    Case("empty_glob", (".paths", "empty path glob"), _paths('["services/checkout/**", ""]')),
    Case("empty_list", (".paths", "matches nothing", "remove paths"), _paths("[]")),
    Case("not_a_list", (".paths", "must be a list of globs"), _paths('"services/checkout/**"')),
    Case("not_strings", (".paths",), _paths("[1, 2]")),
    Case("tag_prefix_on_workflow_runs", (CHECKOUT, "tag_prefix", '"releases"', "remove it"),
         _add('tag_prefix = "checkout-v"')),
    Case("tag_prefix_empty", ("tag_prefix", "must not be empty"),
         lambda text: text.replace('tag_prefix = "checkout-v"', 'tag_prefix = " "')),
    Case("misspelt_key", ("unknown key", "path"), _add('path = ["services/checkout/**"]')),
]


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with serve_in_thread(create_app(load_scenario(build_mono().scenario))) as server:
        yield server.base_url


def test_the_corpus_is_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 10


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_monorepo_setting_is_one_line_and_writes_nothing(case: Case, api_url: str,
                                                             tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    config = write_config(case_dir, api_url, with_paths=True)
    text = config.read_text(encoding="utf-8")
    broken = case.edit(text)
    assert broken != text, "the case changed nothing"
    config.write_text(broken, encoding="utf-8")
    before = listing(tmp_path)
    done = run_cli("extract", "--config", str(config), timeout=60)
    assert_one_line_error(done, case.expect, config)
    assert not (case_dir / "fourkeys.duckdb").exists()
    assert listing(tmp_path) == before, "the failed run wrote something"
