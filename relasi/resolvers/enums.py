"""Closed vocabularies of the CRM. Values are stored as text exactly as named here."""

from enum import Enum


class LifecycleStage(Enum):
    SUBSCRIBER = "SUBSCRIBER"
    LEAD = "LEAD"
    MARKETING_QUALIFIED = "MARKETING_QUALIFIED"
    SALES_QUALIFIED = "SALES_QUALIFIED"
    OPPORTUNITY = "OPPORTUNITY"
    CUSTOMER = "CUSTOMER"
    EVANGELIST = "EVANGELIST"
    CHURNED = "CHURNED"


class LeadRating(Enum):
    HOT = "HOT"
    WARM = "WARM"
    COLD = "COLD"
    JUNK = "JUNK"


class JourneyStage(Enum):
    """In journey order: a later stage means the customer went further."""

    AWARENESS = "AWARENESS"
    CONSIDERATION = "CONSIDERATION"
    DECISION = "DECISION"
    RETENTION = "RETENTION"
    ADVOCACY = "ADVOCACY"


class Channel(Enum):
    EMAIL = "EMAIL"
    WEB = "WEB"
    CHAT = "CHAT"
    WHATSAPP = "WHATSAPP"
    SOCIAL = "SOCIAL"
    PHONE = "PHONE"
    SMS = "SMS"
    AD = "AD"
    IN_PERSON = "IN_PERSON"
    OTHER = "OTHER"


class InteractionKind(Enum):
    PAGE_VIEW = "PAGE_VIEW"
    EMAIL_SENT = "EMAIL_SENT"
    EMAIL_OPEN = "EMAIL_OPEN"
    EMAIL_CLICK = "EMAIL_CLICK"
    MESSAGE = "MESSAGE"
    CALL = "CALL"
    MEETING = "MEETING"
    FORM_SUBMIT = "FORM_SUBMIT"
    AD_CLICK = "AD_CLICK"
    SOCIAL_ENGAGEMENT = "SOCIAL_ENGAGEMENT"
    PURCHASE = "PURCHASE"
    SURVEY_RESPONSE = "SURVEY_RESPONSE"
    NOTE = "NOTE"
    OTHER = "OTHER"


class DealStatus(Enum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


class DealContactRole(Enum):
    DECISION_MAKER = "DECISION_MAKER"
    CHAMPION = "CHAMPION"
    INFLUENCER = "INFLUENCER"
    USER = "USER"


class CaseStatus(Enum):
    NEW = "NEW"
    OPEN = "OPEN"
    PENDING = "PENDING"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"


class CasePriority(Enum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class TimelineEventKind(Enum):
    """What a timeline event records."""

    INTERACTION = "INTERACTION"
    DEAL_STAGE_CHANGED = "DEAL_STAGE_CHANGED"
    CASE_OPENED = "CASE_OPENED"
    CASE_STATUS_CHANGED = "CASE_STATUS_CHANGED"
    JOURNEY_STAGE_CHANGED = "JOURNEY_STAGE_CHANGED"
    NOTE = "NOTE"
    TASK_CREATED = "TASK_CREATED"
    TASK_COMPLETED = "TASK_COMPLETED"
    WORKFLOW_RUN = "WORKFLOW_RUN"


class TaskStatus(Enum):
    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class TaskPriority(Enum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class MemberStatus(Enum):
    """Where a membership is: invited (not signed in yet), active, or removed."""

    INVITED = "INVITED"
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


class AuditOperation(Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    RESTORE = "RESTORE"
