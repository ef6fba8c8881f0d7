"""Imports every domain's table models, so SQLModel.metadata is complete (Alembic, tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from reception.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from reception.campaigns.models import Campaign, CampaignCase, CampaignTarget
from reception.cases.models import (
    CaseCategory,
    CaseClock,
    CaseCounter,
    CaseEvaluation,
    CaseEvent,
    CaseOwnership,
    CasePetitioner,
    CauseInquiry,
    ClockExtension,
    ClockPause,
    PetitionCase,
)
from reception.documents.models import (
    CaseDocument,
    DocumentCounter,
    DocumentPdf,
    DocumentTemplate,
)
from reception.feeds.models import FeedToken
from reception.idempotency import IdempotencyKey
from reception.imports.models import ImportBatch, ImportMapping, ImportRecord
from reception.ledger.models import (
    LedgerCheckIn,
    LedgerCounter,
    LedgerEntry,
    LedgerMove,
    LedgerParty,
    SensitivePeriod,
)
from reception.notify.models import Delivery as NotifyDelivery
from reception.notify.models import Endpoint, JobMark, OutboxEvent
from reception.org.models import (
    ApiToken,
    Leader,
    MediationPresence,
    SecretaryLeader,
    Unit,
    User,
    Venue,
)
from reception.portal.models import PortalThrottle
from reception.proxy.models import ProxyCounter, ProxyFiling
from reception.reports.models import Incident
from reception.scheduling.models import (
    Appointment,
    ReceptionRule,
    ReceptionSession,
    SessionCase,
    SessionSlot,
)
from reception.supervision.models import (
    CheckItem,
    Conference,
    ConferenceMatter,
    Decision,
    DecisionCounter,
    DecisionStep,
    Finding,
    SpotCheck,
    SpotCheckCase,
    SpotCheckMark,
)
from reception.web.models import ConsoleSession
from reception.workcal.models import CalendarDay, CalendarYear

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Appointment",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "CalendarDay",
    "CalendarYear",
    "Campaign",
    "CampaignCase",
    "CampaignTarget",
    "CaseCategory",
    "CaseClock",
    "CaseCounter",
    "CaseDocument",
    "CaseEvaluation",
    "CaseEvent",
    "CaseOwnership",
    "CasePetitioner",
    "CauseInquiry",
    "CheckItem",
    "ClockExtension",
    "ClockPause",
    "Conference",
    "ConferenceMatter",
    "ConsoleSession",
    "Decision",
    "DecisionCounter",
    "DecisionStep",
    "DocumentCounter",
    "DocumentPdf",
    "DocumentTemplate",
    "Endpoint",
    "FeedToken",
    "Finding",
    "IdempotencyKey",
    "ImportBatch",
    "ImportMapping",
    "ImportRecord",
    "Incident",
    "JobMark",
    "Leader",
    "LedgerCheckIn",
    "LedgerCounter",
    "LedgerEntry",
    "LedgerMove",
    "LedgerParty",
    "MediationPresence",
    "NotifyDelivery",
    "OutboxEvent",
    "PetitionCase",
    "PortalThrottle",
    "ProxyCounter",
    "ProxyFiling",
    "ReceptionRule",
    "ReceptionSession",
    "SecretaryLeader",
    "SensitivePeriod",
    "SessionCase",
    "SessionSlot",
    "SpotCheck",
    "SpotCheckCase",
    "SpotCheckMark",
    "Unit",
    "User",
    "Venue",
    "metadata",
]
