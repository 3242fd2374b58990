"""Persistence: Beanie documents on MongoDB (PyMongo's async API) and their initialisation."""

from documents.init import connect_documents
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
    briefing_key,
    doc_id,
)

__all__ = [
    "ALL_DOCUMENTS",
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
    "briefing_key",
    "connect_documents",
    "doc_id",
]
