"""Reading and checking ``params.yaml``.

Each stage reads only its own section and checks it against a spec before any work starts,
so a typo stops the stage with one line naming the key, the value and what is allowed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dllab import files
from dllab.errors import ParamError


@dataclass(frozen=True)
class Rule:
    """How one value is checked: ``convert`` returns the clean value or raises ValueError."""

    convert: Callable[[Any], Any]
    allowed: str


def integer(min: int | None = None, max: int | None = None) -> Rule:
    def convert(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        if (min is not None and value < min) or (max is not None and value > max):
            raise ValueError
        return value

    return Rule(convert, _range_text("an integer", min, max))


def number(min: float | None = None, max: float | None = None, above: float | None = None) -> Rule:
    """A float; numeric strings such as ``1e-3`` (which YAML 1.1 reads as text) are accepted."""

    def convert(value):
        if isinstance(value, bool):
            raise ValueError
        value = float(value)  # raises ValueError for "fast"
        if value != value or (min is not None and value < min) or (max is not None and value > max):
            raise ValueError
        if above is not None and value <= above:
            raise ValueError
        return value

    text = _range_text("a number", min, max)
    if above is not None:
        text = f"a number > {above:g}"
    return Rule(convert, text)


def one_of(*choices: Any) -> Rule:
    def convert(value):
        if value not in choices:
            raise ValueError
        return value

    return Rule(convert, "one of " + ", ".join(repr(c) for c in choices))


def boolean() -> Rule:
    def convert(value):
        if not isinstance(value, bool):
            raise ValueError
        return value

    return Rule(convert, "true or false")


def text(nonempty: bool = True) -> Rule:
    def convert(value):
        if not isinstance(value, str) or (nonempty and not value.strip()):
            raise ValueError
        return value

    return Rule(convert, "a non-empty string" if nonempty else "a string")


def list_of(item: Rule, min_len: int = 1) -> Rule:
    def convert(value):
        if not isinstance(value, list) or len(value) < min_len:
            raise ValueError
        return [item.convert(v) for v in value]

    return Rule(convert, f"a list of at least {min_len} item(s), each {item.allowed}")


def optional(rule: Rule) -> Rule:
    """``null`` or a value accepted by ``rule``."""

    def convert(value):
        return None if value is None else rule.convert(value)

    return Rule(convert, f"null or {rule.allowed}")


def _range_text(kind: str, min, max) -> str:
    if min is not None and max is not None:
        return f"{kind} from {min} to {max}"
    if min is not None:
        return f"{kind} >= {min}"
    if max is not None:
        return f"{kind} <= {max}"
    return kind


def read_yaml(path: str | Path) -> dict:
    """The whole params file, checked to be a mapping of sections."""
    data = files.read_yaml(path, ParamError)
    if not isinstance(data, dict):
        raise ParamError(f"{path}: expected a mapping of sections at the top level")
    return data


def check_section(
    section: str, raw: Any, spec: dict[str, Rule], only: list[str] | None = None, source: str = "params.yaml"
) -> dict:
    """Return the section's values converted by ``spec``; raise ParamError on the first bad key.

    ``only`` restricts conversion to the keys a stage reads (its dvc.yaml ``params``), so one stage
    never fails because of another stage's key; unknown keys are still caught against the whole spec.
    """
    if not isinstance(raw, dict):
        raise ParamError(f"{source}: section '{section}' is missing or not a mapping")
    unknown = sorted(set(raw) - set(spec))
    if unknown:
        raise ParamError(
            f"{source}: unknown key {section}.{unknown[0]}; allowed keys: {', '.join(sorted(spec))}"
        )
    clean = {}
    for key in only if only is not None else spec:
        rule = spec[key]
        if key not in raw:
            raise ParamError(f"{source}: missing key {section}.{key}; expected {rule.allowed}")
        try:
            clean[key] = rule.convert(raw[key])
        except (ValueError, TypeError):
            raise ParamError(
                f"{source}: {section}.{key} = {raw[key]!r} is not allowed; expected {rule.allowed}"
            ) from None
    return clean


def load_section(path: str | Path, section: str, spec: dict[str, Rule], only: list[str] | None = None) -> dict:
    """Load and check one section of the params file (see ``check_section``)."""
    return check_section(section, read_yaml(path).get(section), spec, only=only, source=str(path))
