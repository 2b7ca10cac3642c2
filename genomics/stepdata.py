"""The codec of the pipeline's typed step data (genomics.steps): dataclasses read from and written to the
JSON the steps exchange, by their declared field types.

``from_dict`` checks every field against its type (str, int, float, bool, lists, dicts, nested step types,
``X | None``) and raises the caller's coded error, naming the field, for a missing or mistyped one; ``to_dict``
writes the JSON back, leaving out the empty optional fields marked :data:`OMIT` / :data:`OMIT_FALSY`.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

CODES: dict[str, str] = {
    "JOB_STEP_INVALID": "a step of the pipeline got an event or a result without a field it needs, or with a "
    "field of the wrong type (an integration error: the message names the field)",
}


class StepDataError(ValueError):
    """An event or step result that does not have the shape its type declares."""

    code = "JOB_STEP_INVALID"


# Field metadata: how ``to_dict`` writes an empty value. "none": left out when None; "falsy": left out when
# None, False, 0 or empty. Without it the key is always written (None as null), as the steps always did.
_OMIT = "omit"


OMIT = {_OMIT: "none"}
OMIT_FALSY = {_OMIT: "falsy"}


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)


def is_step_type(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, StepData)


@dataclass(frozen=True)
class _Parse:
    error: type[Exception]
    strict: bool
    partial: bool


def _convert(value: Any, tp: Any, where: str, how: _Parse) -> Any:
    error = how.error
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], where, how)
    if tp is Any:
        return value
    if value is None:
        raise error(f"{where} is missing")
    if is_step_type(tp):
        if not isinstance(value, Mapping):
            raise error(f"{where} must be an object, not {type(value).__name__}")
        return tp.from_dict(value, error=error, where=f"{where}.", strict=how.strict, partial=how.partial)
    if origin is list:
        if not isinstance(value, list | tuple):
            raise error(f"{where} must be a list, not {type(value).__name__}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item, f"{where}[{i}]", how) for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise error(f"{where} must be an object, not {type(value).__name__}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise error(f"{where} must be true or false, not {value!r}")
        return value
    if tp in (int, float):
        if isinstance(value, bool | Mapping | list):
            raise error(f"{where} must be a number, not {value!r}")
        try:
            return tp(value)
        except (TypeError, ValueError) as e:
            raise error(f"{where} must be a number, not {value!r}") from e
    if tp is str:
        if isinstance(value, Mapping | list | bool):
            raise error(f"{where} must be a string, not {type(value).__name__}")
        return str(value)
    raise TypeError(f"steps: no conversion for {tp!r} ({where})")  # a programming error in this module


def _plain(value: Any) -> Any:
    if isinstance(value, StepData):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class StepData:
    """Mixin of the step dataclasses: ``from_dict`` by the declared field types, ``to_dict`` back.

    A required field (one without a default) that is absent, null or an empty string is an error, as is a
    value of the wrong type. Keys the type does not declare are ignored (an older or newer producer), unless
    ``strict``, which the ASL round-trip test uses to catch a name that drifted. ``partial`` lets required
    fields be absent (None): for a reader of whatever parts a branch produced (the ledger's final record),
    which still gets every present field typed and checked."""

    # The "action" a multi-action function dispatches on; written by to_dict and by parameters().
    ACTION: ClassVar[str | None] = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, error: type[Exception] = StepDataError, where: str = "",
                  strict: bool = False, partial: bool = False) -> Self:
        if not isinstance(data, Mapping):
            raise error(f"{where or 'event'} must be an object, not {type(data).__name__}")
        hints = type_hints(cls)
        values: dict[str, Any] = {}
        for f in _fields(cls):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            raw = data.get(f.name)
            if raw is None or raw == "":  # an empty string is no value (S3 and the ledger write "" for none)
                if required and not partial:
                    raise error(f"{where}{f.name} is missing")
                if required:
                    values[f.name] = None
                continue
            values[f.name] = _convert(raw, hints[f.name], f"{where}{f.name}", _Parse(error, strict, partial))
        if strict:
            known = {f.name for f in _fields(cls)} | ({"action"} if cls.ACTION else set())
            unknown = sorted(set(data) - known)
            if unknown:
                raise error(f"{where or 'event'} has fields {cls.__name__} does not declare: {unknown}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.ACTION} if self.ACTION else {}
        for f in _fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            omit = f.metadata.get(_OMIT)
            if (omit == "none" and value is None) or (omit == "falsy" and not value):
                continue
            out[f.name] = _plain(value)
        return out


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in _fields(cls))
