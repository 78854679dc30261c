"""Bodies of the procedure catalogue API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from egov_shared.contracts.dossier import FeeLine
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN

PROCEDURE_CODE_PATTERN = r"^\d\.\d{6}\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}(\.\d{2})?$"


class Component(BaseModel):
    """A paper of the dossier (thành phần hồ sơ)."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    name: str = Field(min_length=1, max_length=500)
    mandatory: bool = True
    template_url: str | None = Field(default=None, max_length=500)


class ProcedureBase(BaseModel):
    name: str = Field(min_length=3, max_length=500)
    field: str = Field(min_length=2, max_length=200, description="Lĩnh vực")
    level: Literal["province", "commune"]
    agency_code: str = Field(
        pattern=AGENCY_CODE_PATTERN, description="The deciding agency (a commune for commune level)"
    )
    online_class: Literal["full", "partial"] = Field(description="toàn trình (full) or một phần (partial)")
    processing_time: int = Field(ge=0, le=365)
    time_unit: Literal["working_days", "calendar_days"] = "working_days"
    fees: list[FeeLine] = Field(default_factory=list, max_length=20)
    fee_stage: Literal["submission", "result"] | None = None
    components: list[Component] = Field(default_factory=list, max_length=50)
    result_type: str = Field(min_length=2, max_length=300)
    min_assurance_level: Literal[1, 2] = 1

    @model_validator(mode="after")
    def _fee_stage_matches_fees(self) -> ProcedureBase:
        paying = sum(f.amount_vnd for f in self.fees) > 0
        if paying and self.fee_stage is None:
            raise ValueError("fee_stage is required when the fees sum to more than zero")
        if not paying and self.fee_stage is not None:
            raise ValueError("fee_stage must be empty when the procedure is free")
        codes = [c.code for c in self.components]
        if len(set(codes)) != len(codes):
            raise ValueError("component codes must be unique")
        return self


class ProcedureCreate(ProcedureBase):
    code: str = Field(pattern=PROCEDURE_CODE_PATTERN, examples=["1.001193.000.00.00.H27"])


class ProcedureUpdate(ProcedureBase):
    active: bool = True


class ProcedureRead(ProcedureBase):
    model_config = ConfigDict(from_attributes=True)

    code: str
    active: bool
    total_fee_vnd: int
    version: int
