"""Load framework files and judge controls from check results."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stratusec.errors import NotFoundError

HERE = Path(__file__).parent

ControlStatus = Literal["pass", "fail", "unknown", "manual", "not_collectable", "not_applicable"]


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    section: str
    profile: str | None = None
    assessment: Literal["automated", "manual"]
    checks: tuple[str, ...] = ()
    # Why a control has no check: "manual" (needs a human) or "not_collectable".
    status: Literal["manual", "not_collectable"] | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _explained(self) -> Control:
        if not self.checks and (self.status is None or not self.reason):
            raise ValueError(f"control {self.id} has no checks and no status + reason")
        if self.checks and self.status is not None:
            raise ValueError(f"control {self.id} has checks and also status {self.status}")
        return self


class Framework(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: str
    title: str
    version: str
    source: str | None = None
    controls: tuple[Control, ...] = Field(default_factory=tuple)

    def control(self, control_id: str) -> Control:
        for c in self.controls:
            if c.id == control_id:
                return c
        raise NotFoundError(
            f"unknown control {control_id!r} in {self.framework}; valid controls: "
            + ", ".join(c.id for c in self.controls)
        )

    def sections(self) -> list[str]:
        return list(dict.fromkeys(c.section for c in self.controls))


def framework_ids() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


@cache
def load_framework(framework_id: str) -> Framework:
    path = HERE / f"{framework_id}.yaml"
    if not path.exists():
        raise NotFoundError(
            f"unknown framework {framework_id!r}; valid frameworks: {', '.join(framework_ids())}"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Framework.model_validate(data)


def compliance_refs() -> dict[str, tuple[str, ...]]:
    """check id -> ("cis-aws-3.0:1.4", ...) across every framework file."""
    refs: dict[str, list[str]] = {}
    for fid in framework_ids():
        for c in load_framework(fid).controls:
            for chk in c.checks:
                refs.setdefault(chk, []).append(f"{fid}:{c.id}")
    return {k: tuple(v) for k, v in refs.items()}


def judge(control: Control, counts: Mapping[str, Mapping[str, int]]) -> ControlStatus:
    """A control's status from per-check status counts of one account."""
    if not control.checks:
        return "manual" if control.status == "manual" else "not_collectable"
    total: Counter[str] = Counter()
    for chk in control.checks:
        total.update(counts.get(chk, {}))
    if total["FAIL"]:
        return "fail"
    if total["UNKNOWN"]:
        return "unknown"
    if total["PASS"]:
        return "pass"
    return "not_applicable"


def evaluate_framework(fw: Framework, counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """Per-control status with counts, per-section totals and a score.

    Score = passed / (passed + failed + unknown) automated controls that could be judged,
    in percent; manual and not-collectable controls are listed, not scored.
    """
    rows = []
    tally: Counter[str] = Counter()
    sections: dict[str, Counter[str]] = {}
    for c in fw.controls:
        status = judge(c, counts)
        agg: Counter[str] = Counter()
        for chk in c.checks:
            agg.update(counts.get(chk, {}))
        rows.append(
            {
                "id": c.id,
                "title": c.title,
                "section": c.section,
                "assessment": c.assessment,
                "status": status,
                "checks": list(c.checks),
                "pass": agg["PASS"],
                "fail": agg["FAIL"],
                "unknown": agg["UNKNOWN"],
                "reason": c.reason,
            }
        )
        tally[status] += 1
        sections.setdefault(c.section, Counter())[status] += 1
    judged = tally["pass"] + tally["fail"] + tally["unknown"]
    score = round(100.0 * tally["pass"] / judged, 1) if judged else None
    return {
        "framework": fw.framework,
        "title": fw.title,
        "version": fw.version,
        "score": score,
        "totals": dict(tally),
        "sections": {s: dict(v) for s, v in sections.items()},
        "controls": rows,
    }
