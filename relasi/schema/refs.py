"""Lazy references to the domain types, declared once: a type names another domain's type
through these, so modules that reach each other (a contact's deals, a deal's contacts) need
no import cycle. Strawberry resolves them when the schema is built."""

from typing import TYPE_CHECKING, Annotated

import strawberry

if TYPE_CHECKING:
    from relasi.schema.accounts import Account, AccountConnection
    from relasi.schema.cases import Case, CaseConnection
    from relasi.schema.contacts import Contact, ContactConnection
    from relasi.schema.deals import Actor, Deal, DealConnection
    from relasi.schema.interactions import Interaction, InteractionConnection
    from relasi.schema.pipelines import Pipeline, PipelineStage
    from relasi.schema.tasks import Task
    from relasi.schema.workflows import Workflow

ContactRef = Annotated["Contact", strawberry.lazy("relasi.schema.contacts")]
AccountRef = Annotated["Account", strawberry.lazy("relasi.schema.accounts")]
DealRef = Annotated["Deal", strawberry.lazy("relasi.schema.deals")]
CaseRef = Annotated["Case", strawberry.lazy("relasi.schema.cases")]
InteractionRef = Annotated["Interaction", strawberry.lazy("relasi.schema.interactions")]
PipelineRef = Annotated["Pipeline", strawberry.lazy("relasi.schema.pipelines")]
StageRef = Annotated["PipelineStage", strawberry.lazy("relasi.schema.pipelines")]
TaskRef = Annotated["Task", strawberry.lazy("relasi.schema.tasks")]
ActorRef = Annotated["Actor", strawberry.lazy("relasi.schema.deals")]
WorkflowRef = Annotated["Workflow", strawberry.lazy("relasi.schema.workflows")]

ContactConnectionRef = Annotated["ContactConnection", strawberry.lazy("relasi.schema.contacts")]
AccountConnectionRef = Annotated["AccountConnection", strawberry.lazy("relasi.schema.accounts")]
DealConnectionRef = Annotated["DealConnection", strawberry.lazy("relasi.schema.deals")]
CaseConnectionRef = Annotated["CaseConnection", strawberry.lazy("relasi.schema.cases")]
InteractionConnectionRef = Annotated[
    "InteractionConnection", strawberry.lazy("relasi.schema.interactions")
]
