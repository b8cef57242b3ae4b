"""Reading and checking ``params.yaml``: one frozen pydantic model per section.

Each stage (and ``web/serve.py``, ``bench/``) builds the models of the sections it reads once, from the file it
was given, and passes them down as objects. A wrong value stops it before any work with one line naming the
file, the key, the value and what is allowed. Defaults live only in the models (``RagParams()`` is what
params.yaml says; ``tests/test_params.py`` keeps the two equal). A key a stage does not declare in dvc.yaml
(``only``) is not read from the file: it keeps its default, so one stage never reruns, or fails, for another's key.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, Iterable, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic import StrictBool, StrictInt, StrictStr

from dllab import files
from dllab.errors import ParamError


class Allowed:
    """Field metadata: what the field accepts, in the words of the error message."""

    def __init__(self, text: str):
        self.text = text


def _range_text(kind: str, min, max) -> str:
    if min is not None and max is not None:
        return f"{kind} from {min} to {max}"
    if min is not None:
        return f"{kind} >= {min}"
    if max is not None:
        return f"{kind} <= {max}"
    return kind


def integer(min: int | None = None, max: int | None = None):
    """An int (not a bool) within the bounds."""
    return Annotated[StrictInt, Field(ge=min, le=max), Allowed(_range_text("an integer", min, max))]


def _as_float(value):
    # PyYAML reads 1e-3 (no dot) as text; users write it anyway. A bool is not a number.
    if isinstance(value, bool):
        raise ValueError("a bool is not a number")
    if isinstance(value, (int, float, str)):
        value = float(value)
        if math.isnan(value):
            raise ValueError("not a number")
        return value
    raise ValueError("not a number")


def number(min: float | None = None, max: float | None = None, above: float | None = None):
    """A float (numeric text such as ``1e-3`` accepted) within the bounds; ``above`` is exclusive."""
    allowed = f"a number > {above:g}" if above is not None else _range_text("a number", min, max)
    return Annotated[float, BeforeValidator(_as_float), Field(ge=min, le=max, gt=above), Allowed(allowed)]


def one_of(*choices: str):
    return Annotated[Literal[choices], Allowed("one of " + ", ".join(repr(c) for c in choices))]


def boolean():
    return Annotated[StrictBool, Allowed("true or false")]


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("empty")
    return value


def text(nonempty: bool = True):
    if nonempty:
        return Annotated[StrictStr, AfterValidator(_nonblank), Allowed("a non-empty string")]
    return Annotated[StrictStr, Allowed("a string")]


def list_of(item, min_len: int = 1):
    """A list (held as a tuple: the models are frozen) of at least ``min_len`` items, each an ``item``."""
    item_allowed = next(meta.text for meta in get_args(item)[1:] if isinstance(meta, Allowed))
    return Annotated[tuple[item, ...], Field(min_length=min_len),
                     Allowed(f"a list of at least {min_len} item(s), each {item_allowed}")]


def source_in(syntax):
    """A source in one of the forms ``syntax`` (a ``dllab.sources.SourceSyntax``) takes, checked when read."""
    def parses(value: str) -> str:
        syntax.parse(value)
        return value

    return Annotated[StrictStr, AfterValidator(parses), Allowed(syntax.help)]


def checked(check, allowed: str, kind=StrictStr):
    """A value of ``kind`` that ``check`` accepts (it raises ValueError otherwise)."""
    return Annotated[kind, AfterValidator(check), Allowed(allowed)]


class Section(BaseModel):
    """One section of params.yaml: frozen, unknown keys refused, each value checked by its field."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    section: ClassVar[str]
    _source: str = PrivateAttr(default="params.yaml")

    @property
    def params_file(self) -> str:
        """The file these values came from (``params.yaml`` for defaults)."""
        return self._source

    def invalid(self, key: str, why: str) -> ParamError:
        """The one-line error for a value that does not fit the data (``raise params.invalid(...)``)."""
        return ParamError(f"{self._source}: {self.section}.{key} = {_shown(getattr(self, key))} {why}")

    @classmethod
    def allowed(cls, key: str) -> str:
        """What ``key`` accepts, in words."""
        info = cls.model_fields[key]
        for meta in info.metadata:
            if isinstance(meta, Allowed):
                return meta.text
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            inner = ", ".join(f"{k}: {annotation.allowed(k)}" for k in annotation.model_fields)
            return f"a mapping {{{inner}}}"
        return str(annotation)

    @classmethod
    def from_mapping(cls: type[S], raw: Any, source: str | Path = "params.yaml",
                     only: Iterable[str] | None = None) -> S:
        """The section checked from ``raw`` (the section's mapping); ParamError on the first bad key.

        With ``only``, just those keys are read from ``raw`` (the rest keep their defaults); unknown keys are
        refused either way.
        """
        source = str(source)
        if not isinstance(raw, dict):
            raise ParamError(f"{source}: section '{cls.section}' is missing or not a mapping")
        unknown = sorted(set(raw) - set(cls.model_fields))
        if unknown:
            raise ParamError(f"{source}: unknown key {cls.section}.{unknown[0]}; "
                             f"allowed keys: {', '.join(sorted(cls.model_fields))}")
        keys = list(cls.model_fields) if only is None else list(only)
        for key in keys:
            if key not in cls.model_fields:
                raise KeyError(f"{cls.__name__} has no field {key!r}")
        values = {key: raw[key] for key in keys if key in raw}
        try:
            model = cls.model_validate(values)
        except ValidationError as exc:
            raise _one_line(cls, exc, values, source) from None
        model._source = source
        return model

    def with_values(self: S, **changes) -> S:
        """A checked copy with ``changes`` (a dry run's smaller numbers, a test's variant)."""
        values = {**self.model_dump(), **changes}
        try:
            model = type(self).model_validate(values)
        except ValidationError as exc:
            raise _one_line(type(self), exc, values, self._source) from None
        model._source = self._source
        return model


S = TypeVar("S", bound=Section)


def _shown(value) -> str:
    """A value as the user wrote it (tuples were YAML lists)."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return repr(value)


def _one_line(cls: type[Section], exc: ValidationError, values: dict, source: str) -> ParamError:
    error = exc.errors()[0]
    loc = error.get("loc") or ()
    if not loc or loc[0] not in cls.model_fields:  # a model validator: a check across keys
        cause = (error.get("ctx") or {}).get("error")
        return ParamError(f"{source}: {cause if cause is not None else error['msg']}")
    key = loc[0]
    if error["type"] == "missing" and len(loc) == 1:
        return ParamError(f"{source}: missing key {cls.section}.{key}; expected {cls.allowed(key)}")
    return ParamError(f"{source}: {cls.section}.{key} = {_shown(values.get(key))} is not allowed; "
                      f"expected {cls.allowed(key)}")


def read_yaml(path: str | Path) -> dict:
    """The whole params file, checked to be a mapping of sections."""
    data = files.read_yaml(path, ParamError)
    if not isinstance(data, dict):
        raise ParamError(f"{path}: expected a mapping of sections at the top level")
    return data


def load(path: str | Path, model: type[S], only: Iterable[str] | None = None) -> S:
    """One section of the params file at ``path``, checked (see ``Section.from_mapping``)."""
    return model.from_mapping(read_yaml(path).get(model.section), source=path, only=only)


def load_all(path: str | Path, *models: type[Section]) -> tuple[Section, ...]:
    """Several whole sections of the params file at ``path``, read once (the web server's)."""
    raw = read_yaml(path)
    return tuple(model.from_mapping(raw.get(model.section), source=path) for model in models)
