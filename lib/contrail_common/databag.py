"""Typed relation databags: pydantic models read and written through ops' load/save.

Every interface schema in `interfaces/*/v*/schema.py` builds on `DatabagModel`: keys are the
field names with hyphens, each value is JSON (ops' convention), and every field is optional so a
partial or older databag still loads; what is *required* is decided by the reader. No field,
whatever its type, takes a string with a line break or control character
(`text.check_strings`); address fields use `addresses`' types, which refuse IPv6 scope ids.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, TypeVar, Union

import ops
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .text import check_strings

ModelT = TypeVar("ModelT", bound=BaseModel)


class DatabagModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=lambda name: name.replace("_", "-"),
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )
    # Interfaces of other charms (Charmed Kubernetes' `kubernetes-cni`, the `http` interface)
    # carry plain strings, not JSON: their schemas set this.
    raw_values: ClassVar[bool] = False

    @field_validator("*", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        return check_strings(value)


class MalformedDatabagError(Exception):
    """A remote databag holds something its schema does not allow; the message says where."""


def read_databag(
    relation: ops.Relation, entity: Union[ops.Application, ops.Unit], model: type[ModelT]
) -> Optional[ModelT]:
    """The databag as `model`, None when it is empty, MalformedDatabagError when invalid."""
    if not relation.data[entity]:
        return None
    try:
        if getattr(model, "raw_values", False):
            return relation.load(model, entity, decoder=str)
        return relation.load(model, entity)
    except (ValidationError, ValueError, TypeError) as error:
        fields = _error_fields(error)
        raise MalformedDatabagError(
            f"{relation.name} data from {entity.name} is malformed"
            + (f" ({', '.join(fields)})" if fields else "")
        ) from None


def write_databag(
    relation: ops.Relation, entity: Union[ops.Application, ops.Unit], data: BaseModel
) -> None:
    """Write every field of `data` into the databag (None as JSON null; raw: key removed)."""
    if getattr(data, "raw_values", False):
        relation.save(data, entity, encoder=_raw)
    else:
        relation.save(data, entity)


def _raw(value: object) -> str:
    return "" if value is None else str(value)


def _error_fields(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return sorted({str(problem["loc"][0]) for problem in error.errors() if problem["loc"]})
    return []
