"""An enterprise (工贸企业) identified by its unified social credit code."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from permits.reference.uscc import validate_uscc


class Enterprise(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]
    uscc: str
    # 6-digit administrative division code of the county that supervises it.
    county_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    industry: str = ""
    address: str = ""
    principal_id: str | None = None  # 主要负责人 (a Person id)

    @field_validator("uscc")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        from permits.errors import InvalidInput

        try:
            return validate_uscc(value)
        except InvalidInput as exc:
            raise ValueError(exc.expected) from None
