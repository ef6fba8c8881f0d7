"""What the petitioner's page reads and answers (the JSON twin at /public/api/)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from msgspec import Meta, Struct

from reception.base import Strict
from reception.cases.workflow import Rating


class LookupIn(Strict):
    # As printed (ACDEF-GHJKL); spaces, dashes and lower case are fine.
    code: Annotated[str, Meta(min_length=1, max_length=40)]
    # The last 4 characters of the ID number or of the phone given at registration.
    factor: Annotated[str, Meta(min_length=1, max_length=20)]


class EvaluationIn(Strict):
    ticket: Annotated[str, Meta(min_length=1, max_length=200)]
    satisfaction: Rating
    comment: Annotated[str, Meta(max_length=500)] = ""


class PublicNotice(Struct):
    id: int
    title: str
    number: str
    issued_on: date
    delivered_on: date | None


class PublicEvaluation(Struct):
    # The reply it is about: 1 处理意见, 2 复查意见, 3 复核意见 (0: no reply yet).
    round: int
    may_rate: bool
    rate_until: date | None
    given: str | None
    given_on: date | None


class PublicCase(Struct):
    reference: str
    stage: str
    stage_words: str
    unit_name: str
    received_on: date
    accepted_on: date | None
    reply_due: date | None
    replied_on: date | None
    delivered_on: date | None
    request_review_until: date | None
    notices: list[PublicNotice]
    evaluation: PublicEvaluation
    # Carries the lookup for half an hour: to rate, and to download the notices.
    ticket: str
