"""Persistence: Beanie documents on MongoDB (PyMongo's async API) and their initialisation."""

from documents.alerts import ALERT_DOCUMENTS, Alert, AlertDetails, AlertKind, AlertRule, Webhook, alert_key
from documents.init import connect_documents
from documents.keyreads import get_by_id, get_immutable
from documents.models import (
    ALL_DOCUMENTS,
    Briefing,
    BriefingRequest,
    CaptionSource,
    ClassCount,
    EndReason,
    RequestStatus,
    Session,
    StoredDetection,
    Summary,
    User,
    ZoneCount,
    briefing_key,
    doc_id,
)

__all__ = [
    "ALERT_DOCUMENTS",
    "ALL_DOCUMENTS",
    "Alert",
    "AlertDetails",
    "AlertKind",
    "AlertRule",
    "Briefing",
    "BriefingRequest",
    "CaptionSource",
    "ClassCount",
    "EndReason",
    "RequestStatus",
    "Session",
    "StoredDetection",
    "Summary",
    "User",
    "Webhook",
    "ZoneCount",
    "alert_key",
    "briefing_key",
    "connect_documents",
    "doc_id",
    "get_by_id",
    "get_immutable",
]
