"""Every string limit a request body declares is its column's: a longer value would be a 500 on
PostgreSQL (VARCHAR(n)) and silently stored on SQLite. A new string field without a place here
fails the test until someone says where it is stored."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import msgspec

from reception.base import Strict
from reception.crypto import Keyring
from reception.models import metadata
from tests.live import TEST_KEYS

MODULES = [
    "reception.org.schemas",
    "reception.scheduling.schemas",
    "reception.cases.schemas",
    "reception.campaigns.schemas",
    "reception.feeds.schemas",
    "reception.reports.schemas",
    "reception.workcal.schemas",
    "reception.portal.schemas",
    "reception.notify.schemas",
    "reception.documents.schemas",
]

# Body field → the columns it is stored in ("table.column"); () for a value kept only in the
# audit log or the timeline's JSON (no length of its own); "sealed:table.column" for a value
# stored sealed (reception.pii): the column must hold the sealed form of the longest value.
STORED: dict[str, dict[str, tuple[str, ...]]] = {
    "UnitCreate": {"name": ("unit.name",)},
    "UnitUpdate": {"name": ("unit.name",)},
    "LeaderCreate": {"name": ("leader.name",), "title": ("leader.title",)},
    "LeaderUpdate": {"name": ("leader.name",), "title": ("leader.title",)},
    "VenueCreate": {"name": ("venue.name",), "address": ("venue.address",)},
    "VenueUpdate": {"name": ("venue.name",), "address": ("venue.address",)},
    "UserCreate": {"name": ("app_user.name",)},
    "UserUpdate": {"name": ("app_user.name",)},
    # The password is kept only as its argon2 hash.
    "PasswordSet": {"username": ("app_user.username",), "password": ()},
    "TokenCreate": {"label": ("api_token.label",)},
    "SessionCreate": {
        "address": ("reception_session.address",),
        "purpose": ("reception_session.purpose",),
    },
    "SessionMove": {
        "address": ("reception_session.address",),
        "purpose": ("reception_session.purpose",),
    },
    "CancelRequest": {"reason": ("reception_session.cancel_reason", "appointment.cancel_reason")},
    "HoldRequest": {"outcome": ("reception_session.outcome",)},
    "AppointmentCreate": {
        "petitioner_name": ("appointment.petitioner_name",),
        "matter_summary": ("appointment.matter_summary",),
        "petitioner_phone": ("sealed:appointment.petitioner_phone_sealed",),
        "petitioner_id_number": ("sealed:appointment.petitioner_id_number_sealed",),
        "representatives[]": ("appointment.petitioner_name",),
    },
    "AppointmentMove": {"reason": ()},
    "PetitionerCheck": {
        "petitioner_name": ("appointment.petitioner_name",),
        "petitioner_phone": ("sealed:appointment.petitioner_phone_sealed",),
        "petitioner_id_number": ("sealed:appointment.petitioner_id_number_sealed",),
    },
    "AppointmentStatusChange": {"reason": ("appointment.cancel_reason",)},
    "SessionCaseOutcome": {"outcome": ("session_case.outcome",)},
    "PetitionerIn": {
        "name": ("case_petitioner.name",),
        "id_number": ("sealed:case_petitioner.id_number_sealed",),
        "phone": ("sealed:case_petitioner.phone_sealed",),
        "address": ("sealed:case_petitioner.address_sealed",),
    },
    "CaseCreate": {
        "category": ("petition_case.category_code",),
        "summary": ("petition_case.summary",),
        "source_batch": ("petition_case.source_batch",),
    },
    "CaseUpdate": {
        "category": ("petition_case.category_code",),
        "summary": ("petition_case.summary",),
        "source_batch": ("petition_case.source_batch",),
    },
    "Transition": {
        "note": ("case_event.note",),
        "reason": (
            "petition_case.rejection_reason",
            "clock_extension.reason",
            "clock_pause.reason",
        ),
        "approver": ("clock_extension.approver",),
        "doc_number": ("petition_case.reply_doc_number",),
        # Read as a method's code (cases.delivery), never stored as written.
        "delivery_method": (),
    },
    "OwnershipAssign": {
        "plan": ("case_ownership.plan",),
        "stability_contact": ("case_ownership.stability_contact",),
        "reason": ("case_ownership.reason", "case_ownership.end_reason"),
    },
    "ResolutionPut": {
        "method": ("petition_case.resolution_method",),
        "evidence": ("petition_case.resolution_evidence",),
    },
    "CategoryIn": {"name": ("case_category.name",)},
    "CampaignCreate": {"name": ("campaign.name",), "description": ("campaign.description",)},
    "FeedCreate": {"name": ("feed_token.name",)},
    "IncidentCreate": {"description": ("incident.description",)},
    "DayIn": {"name": ("calendar_day.name",)},
    "DeliveryIn": {
        "method": (),
        **{
            f: (f"case_delivery.{f}",)
            for f in (
                "place",
                "recipient",
                "no_recipient_reason",
                "witnesses",
                "entrusted_to",
                "mail_number",
                "consent",
                "carrier",
                "failure_reason",
                "note",
            )
        },
    },
    # What a notice prints: kept in the document's fields (JSON) and its bytes.
    "DocumentIssue": {
        k: ()
        for k in (
            "facts",
            "basis",
            "decision",
            "redirect_to",
            "transferred_to",
            "organ",
            "review_body",
            "re_review_body",
            "note",
        )
    },
    # Looked up, never stored (the code by its keyed hash); the ticket is a MAC.
    "LookupIn": {"code": (), "factor": ()},
    "EvaluationIn": {"ticket": (), "comment": ("case_evaluation.comment",)},
    # Sealed (their ciphertext column is longer); the events list is JSON.
    "EndpointIn": {
        "name": ("notify_endpoint.name",),
        "url": (),
        "secret": (),
        "events[]": (),
    },
}


def _string_limits(cls: type) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in msgspec.inspect.type_info(cls).fields:  # type: ignore[attr-defined]
        stack: list[Any] = [f.type]
        while stack:
            t = stack.pop()
            if isinstance(t, msgspec.inspect.UnionType):
                stack += t.types
            elif isinstance(t, msgspec.inspect.StrType) and t.max_length:
                out[f.name] = t.max_length
            elif isinstance(t, msgspec.inspect.ListType) and isinstance(
                t.item_type, msgspec.inspect.StrType
            ):
                if t.item_type.max_length:
                    out[f.name + "[]"] = t.item_type.max_length
    return out


def _bodies() -> list[type]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, Strict) and cls.__module__ == name:
                found.append(cls)
    return found


def _sealed_length(limit: int, table: str, column: str, *, text: bool) -> int:
    """The sealed form of the longest value: an address may be all CJK (3 bytes each); an ID
    number or a phone is checked to be ASCII before it is stored. A key id of up to k999, under
    either cipher suite (an SM4 value's prefix "v2:sm4:" is the longer one)."""
    value = ("信" if text else "9") * limit
    lengths = []
    for suite in ("aes", "sm"):
        keys = Keyring.parse(TEST_KEYS, "test", suite).with_new_active_key()
        keys = Keyring(
            actives={suite: "k999"},
            data={"k999": keys.data[keys.active]},
            index=keys.index,
            suite=suite,
        )
        lengths.append(len(keys.seal(value, table=table, column=column, row_id=2**62)))
    return max(lengths)


def test_every_string_limit_is_its_columns() -> None:
    checked = 0
    for cls in _bodies():
        for field, limit in _string_limits(cls).items():
            where = STORED.get(cls.__name__, {}).get(field)
            assert where is not None, f"{cls.__name__}.{field}: say which column stores it"
            for target in where:
                sealed = target.startswith("sealed:")
                table, column = target.removeprefix("sealed:").split(".")
                length = metadata.tables[table].c[column].type.length
                if sealed:
                    longest = _sealed_length(limit, table, column, text=field == "address")
                    assert longest <= length, f"{target}: {longest} > {length}"
                else:
                    assert length == limit, (
                        f"{cls.__name__}.{field} allows {limit}, {target} {length}"
                    )
                checked += 1
    assert checked > 50
