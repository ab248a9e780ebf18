# Copyright: contributors to ephemeral.container_groups
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Internal to ephemeral.container_groups: this file may change or disappear without notice.
# Do not import it from outside the collection.
"""How messages name YAML/JSON values and YAML errors, so every message words them alike."""

from __future__ import annotations

import typing as t

#: Names of the kinds of value YAML and JSON give, in the order they are tested
#: (bool before int: a boolean is an int to isinstance).
_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (dict, "mapping"),
    (list, "list"),
    (str, "string"),
    (int, "integer"),
    (float, "number"),
)


def _with_article(name: str) -> str:
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def type_name(value: t.Any) -> str:
    """What a value is, in a word: 'mapping', 'list', 'integer', 'null', ..."""
    if value is None:
        return "null"
    for kind, name in _KINDS:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def described(value: t.Any) -> str:
    """What a value is, with its article: 'a mapping', 'an integer', 'null', ..."""
    name = type_name(value)
    return name if value is None else _with_article(name)


def kind_described(kind: type) -> str:
    """What a kind of value is called, with its article: dict -> 'a mapping'."""
    return _with_article(next((name for k, name in _KINDS if k is kind), kind.__name__))


def yaml_problem(exc: Exception) -> str:
    """A YAML error in one line, where and what, without PyYAML's stream names."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    text = where + (getattr(exc, "problem", None) or str(exc))
    context = getattr(exc, "context", None)
    if context:
        text += f" ({context})"
    return " ".join(text.split())
