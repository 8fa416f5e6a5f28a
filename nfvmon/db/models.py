"""SQLAlchemy 2 models: VIMs, VNFs with their VDUs, monitors (current action ids), events.

The current `action_id` of a resource lives in `monitors`; a status write is accepted only
when the writer's action id is that one, decided inside the UPDATE statement itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ID = String(128)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: nfvmon stores aware UTC datetimes only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Vim(Base):
    __tablename__ = "vims"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    target: Mapped[str] = mapped_column(String(255), default="")
    #: What regenerating the workflow needs, credentials removed: {auth_url, monitor}.
    probe_config: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32))
    previous_status: Mapped[str | None] = mapped_column(String(32))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Vnf(Base):
    __tablename__ = "vnfs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(32))
    previous_status: Mapped[str | None] = mapped_column(String(32))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    vnfd: Mapped[str] = mapped_column(Text, default="")
    heal_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_heal_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    vdus: Mapped[list[Vdu]] = relationship(
        back_populates="vnf", cascade="all, delete-orphan", order_by="Vdu.name")

    @property
    def mgmt_ips(self) -> dict[str, list[str]]:
        """{VDU name: [management IP, ...]}: the shape workflows, updates and output use."""
        return {vdu.name: list(vdu.mgmt_ips) for vdu in self.vdus}


class Vdu(Base):
    __tablename__ = "vdus"

    vnf_id: Mapped[str] = mapped_column(ForeignKey("vnfs.id", ondelete="CASCADE"),
                                        primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    mgmt_ips: Mapped[list] = mapped_column(JSON, default=list)

    vnf: Mapped[Vnf] = relationship(back_populates="vdus")


class Monitor(Base):
    """The monitor of one resource: its current action and where it runs in Mistral."""

    __tablename__ = "monitors"

    resource_type: Mapped[str] = mapped_column(String(8), primary_key=True)  # vim | vnf
    resource_id: Mapped[str] = mapped_column(ID, primary_key=True)
    action_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    workflow_name: Mapped[str | None] = mapped_column(String(255))
    execution_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: `nfvmon` (nfvmon deploys and re-creates it in Mistral) or `external` (the operator
    #: deployed the workflow with Mistral's own tools; nfvmon never re-creates it).
    deployment: Mapped[str] = mapped_column(String(16), default="nfvmon")
    #: When the reconciler found the monitor silent past its grace (external monitors only).
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PolicyJob(Base):
    """A policy action (respawn, heal, ...) a conductor has taken on for one VNF.

    At most one per VNF. The row outlives the conductor that wrote it: should that conductor
    die mid-action, another one finds the row past its `deadline` and re-decides the job, so
    no VNF stays in a pending status for good.
    """

    __tablename__ = "policy_jobs"
    __table_args__ = (Index("ix_policy_jobs_deadline", "deadline"),)

    vnf_id: Mapped[str] = mapped_column(ForeignKey("vnfs.id", ondelete="CASCADE"),
                                        primary_key=True)
    vdu: Mapped[str | None] = mapped_column(String(64))
    action_name: Mapped[str] = mapped_column(String(64))
    #: The monitor action whose failure report started the job.
    monitor_action_id: Mapped[str | None] = mapped_column(String(36))
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    #: `queued` (waiting for a worker or a back-off), `running` (the plugin runs).
    state: Mapped[str] = mapped_column(String(16))
    #: The conductor (`[DEFAULT] host`) or CLI process that owns the job now.
    owner: Mapped[str] = mapped_column(String(255))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Past this, the owner is presumed dead and any conductor may take the job over.
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())


class Event(Base):
    """One row per status change (and per lifecycle step): the resource's history."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_resource", "resource_type", "resource_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(8))
    resource_id: Mapped[str] = mapped_column(ID)
    event_type: Mapped[str] = mapped_column(String(16))  # MONITOR, CREATE, DELETE, POLICY...
    state: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
