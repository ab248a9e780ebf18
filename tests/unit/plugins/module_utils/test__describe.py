# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest
import yaml

from ansible_collections.ephemeral.container_groups.plugins.module_utils._describe import (
    described,
    kind_described,
    type_name,
    yaml_problem,
)


@pytest.mark.parametrize(
    ("value", "name", "with_article"),
    [
        pytest.param(None, "null", "null", id="null"),
        pytest.param(True, "boolean", "a boolean", id="bool-before-int"),
        pytest.param({}, "mapping", "a mapping", id="mapping"),
        pytest.param([1], "list", "a list", id="list"),
        pytest.param("x", "string", "a string", id="string"),
        pytest.param(3, "integer", "an integer", id="integer"),
        pytest.param(1.5, "number", "a number", id="number"),
        pytest.param(datetime.date(2026, 1, 1), "date", "a date", id="other-type"),
    ],
)
def test_value_names(value: object, name: str, with_article: str) -> None:
    assert type_name(value) == name
    assert described(value) == with_article


@pytest.mark.parametrize(
    ("kind", "words"),
    [(dict, "a mapping"), (list, "a list"), (str, "a string"), (int, "an integer"), (bool, "a boolean")],
)
def test_kind_described(kind: type, words: str) -> None:
    assert kind_described(kind) == words


def test_yaml_problem_is_one_line_with_position() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.safe_load("a: [1,\n  b: 2\n")
    assert yaml_problem(caught.value) == "line 3, column 1: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)"


def test_yaml_problem_without_mark() -> None:
    assert yaml_problem(ValueError("bad\n  thing")) == "bad thing"
