"""What the compiler covers: the object types whose every field it maps to SQL, and the root
lookups and lists it answers (by the entity of the storage mapping, `resolvers/model.py`).
Anything else is answered by the resolvers (`plan.py`: `Unsupported`; README: How reads are
answered)."""

# the types whose every field the planner can map (others: the resolvers)
COVERED_TYPES = frozenset(
    {
        "Contact",
        "Account",
        "Deal",
        "Case",
        "Task",
        "Interaction",
        "Member",
        "PipelineStage",
        "Pipeline",
        "ApiKey",
        "AuditEntry",
        "Segment",
        "SegmentMembershipChange",
    }
)
ROOT_LOOKUPS = {
    "contact": "Contact",
    "account": "Account",
    "deal": "Deal",
    "case": "Case",
    "task": "Task",
    "interaction": "Interaction",
    "pipeline": "Pipeline",
    "segment": "Segment",
}
ROOT_LISTS = {
    "contacts": "Contact",
    "accounts": "Account",
    "deals": "Deal",
    "cases": "Case",
    "tasks": "Task",
    "interactions": "Interaction",
    "pipelines": "Pipeline",
    "members": "Member",
    "apiKeys": "ApiKey",
    "auditLog": "AuditEntry",
    "segments": "Segment",
}
