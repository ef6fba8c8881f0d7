"""Who does what in 督查督办 (the cases' scope rules, SPEC §3.12).

- The district checks: reviewers (督查) and admins draw a month's sample, mark the checklist,
  accept or send back a rectification; they read every check and finding.
- A unit answers for itself: a clerk reads the checks and findings of units in his subtree and
  answers those findings.
- 流调: written by those who handle the case (its clerks, admins), signed by the leader it
  names; read by them, by reviewers and admins.
Outside a caller's scope a check, a finding or a 流调 is 404, as a case is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col, select

from reception.auth import Principal
from reception.base import role_label
from reception.cases.access import case_scope
from reception.cases.models import CauseInquiry, PetitionCase
from reception.errors import Forbidden
from reception.etags import etag
from reception.org.access import READ_ALL, reach_clause
from reception.supervision.models import Decision, Finding, SpotCheck

CHECKERS = ("admin", "reviewer")


def checks(principal: Principal | None) -> bool:
    return principal is None or principal.role in CHECKERS


def may_check(principal: Principal | None) -> None:
    if not checks(principal):
        who = role_label(principal.role) if principal else ""
        raise Forbidden(f"{who}不能进行抽查:抽查由区信访局督查人员进行")


def dates_back(principal: Principal | None) -> bool:
    """Whether a caller may date a unit's answer or report on another day than today: only the
    administrator entering an old record (补录) and the command line — never the unit itself."""
    return principal is None or principal.role == "admin"


def check_scope(principal: Principal | None) -> ColumnElement[bool]:
    """The checks a caller reads, as a WHERE clause over `spot_check`."""
    if principal is None or principal.role in READ_ALL:
        return true()
    if principal.role == "clerk":
        return reach_clause(principal, col(SpotCheck.unit_id))
    return false()


def finding_scope(principal: Principal | None) -> ColumnElement[bool]:
    """The findings a caller reads (and a clerk answers), over `spot_check_finding`."""
    if principal is None or principal.role in READ_ALL:
        return true()
    if principal.role == "clerk":
        return reach_clause(principal, col(Finding.unit_id))
    return false()


def inquiry_scope(principal: Principal | None) -> ColumnElement[bool]:
    """The 流调 a caller reads, over `cause_inquiry`: those of the cases he reads, and a
    leader's those he is to sign (he reads the 流调, not the rest of the case)."""
    if principal is None or principal.role in READ_ALL:
        return true()

    readable = col(CauseInquiry.case_id).in_(select(PetitionCase.id).where(case_scope(principal)))
    if principal.role == "leader" and principal.leader_id:
        return or_(readable, col(CauseInquiry.leader_id) == principal.leader_id)
    return readable


def finding_etag(f: Finding) -> str:
    return etag("finding", f.id, f"v{f.version}")


def inquiry_etag(i: CauseInquiry) -> str:
    return etag("inquiry", i.id, f"v{i.version}")


def decision_etag(d: Decision) -> str:
    return etag("decision", d.id, f"v{d.version}")


def decision_scope(principal: Principal | None) -> Any:
    """The decisions a caller reads: checkers all; a clerk those his subtree owns."""
    if principal is None or checks(principal):
        return col(Decision.id).is_not(None)
    if principal.role == "clerk":
        return reach_clause(principal, col(Decision.owner_unit_id))
    return col(Decision.id).is_(None)
