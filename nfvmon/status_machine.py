"""The one table of which event moves which status: (resource, event, from) -> to.

Like Astara RUG's explicit states (and Masakari's notification states), every status change
nfvmon makes is a named event with its from-statuses and its to-status in one place, and
each pending status says what ends it and by when. The Store applies an event with one
conditional UPDATE built from its row (nfvmon.db.api.Store.write_status); nothing else
decides which status may move. Pure: names and tables, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from nfvmon.statuses import (
    ACTIVE,
    DEAD,
    ERROR,
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_HEAL,
    PENDING_SCALE_OUT,
    VIM_PENDING,
    VIM_REACHABLE,
    VIM_UNREACHABLE,
    VNF_PENDING_STATUSES,
)

VIM, VNF = "vim", "vnf"
STATUSES = {
    VIM: (VIM_PENDING, VIM_REACHABLE, VIM_UNREACHABLE, ERROR),
    VNF: (ACTIVE, DEAD, ERROR) + VNF_PENDING_STATUSES,
}

# --- events --------------------------------------------------------------------------------
# A VIM's monitor reports.
MONITOR_REACHABLE, MONITOR_UNREACHABLE = "monitor_reachable", "monitor_unreachable"
# A VNF's monitor reports (FAILURE also records the policy job: PolicyJobs.fail_with_job).
FAILURE, RECOVERY, FIRST_CHECKIN = "failure", "recovery", "first_checkin"
# The lifecycle deploys a monitor; the reconciler cannot re-create one.
DEPLOYED, DEPLOY_FAILED = "deployed", "deploy_failed"
MONITOR_UNRECREATABLE = "monitor_unrecreatable"
# An operator clears an ERROR or heals a VDU; `_orphaned`: no live job stands behind the
# VNF (gone, or past its deadline), so its pending status is the operator's to end too.
OPERATOR_CLEAR, OPERATOR_CLEAR_ORPHANED = "operator_clear", "operator_clear_orphaned"
OPERATOR_HEAL, OPERATOR_HEAL_ORPHANED = "operator_heal", "operator_heal_orphaned"
HEAL_DONE, HEAL_FAILED = "heal_done", "heal_failed"
# A policy job (policy_runner.py).
POLICY_SUCCEEDED = "policy_succeeded"
POLICY_LEFT_DEAD = "policy_left_dead"  # an action that only logs (or kills the monitor)
POLICY_ATTEMPT_FAILED = "policy_attempt_failed"  # a capped action will try again
POLICY_FAILED, POLICY_GAVE_UP = "policy_failed", "policy_gave_up"
POLICY_TIMED_OUT, POLICY_CRASHED = "policy_timed_out", "policy_crashed"
POLICY_ORPHANED = "policy_orphaned"  # pending with no job behind it: its process ended

#: The pending statuses a policy action may show while it runs (PolicyAction.pending_status).
POLICY_PENDING_STATUSES = (PENDING_HEAL, PENDING_SCALE_OUT, PENDING_DELETE)


def policy_started(pending: str) -> str:
    """The event of a policy job that shows `pending` while its action runs."""
    return f"policy_started({pending})"


def policy_acts_from(pending: str | None) -> tuple[str, ...]:
    """The statuses a policy job with that pending status acts from (else it is over:
    recovered, cleared, or another job's)."""
    return (DEAD, pending) if pending else (DEAD,)


#: A policy action's result status (PolicyResult.status) -> the event that writes it.
POLICY_RESULT_EVENTS = {ACTIVE: POLICY_SUCCEEDED, DEAD: POLICY_LEFT_DEAD, ERROR: POLICY_FAILED}

#: from-statuses meaning "whatever the status is".
ANY = None


@dataclass(frozen=True)
class Transition:
    """One row: `event` moves a resource from any of `from_statuses` (ANY: from every
    status) to `to`, writing an event row of `event_type`. `needs_action`: only the
    resource's current monitor action may cause it (its action id is checked in the same
    UPDATE); otherwise an operator or the conductor does, with no action id."""

    resource_type: str
    event: str
    from_statuses: tuple[str, ...] | None
    to: str
    event_type: str
    needs_action: bool = False

    def allows(self, status: str) -> bool:
        return self.from_statuses is ANY or status in self.from_statuses


_ACTING = (DEAD,) + POLICY_PENDING_STATUSES  # what a policy job acts from
_SETTLED = (ACTIVE, DEAD, ERROR)

_ROWS = [
    Transition(VIM, MONITOR_REACHABLE, ANY, VIM_REACHABLE, "MONITOR", needs_action=True),
    Transition(VIM, MONITOR_UNREACHABLE, ANY, VIM_UNREACHABLE, "MONITOR", needs_action=True),
    Transition(VNF, FAILURE, (ACTIVE,), DEAD, "MONITOR", needs_action=True),
    Transition(VNF, RECOVERY, (DEAD,), ACTIVE, "MONITOR", needs_action=True),
    Transition(VNF, FIRST_CHECKIN, (PENDING_CREATE,), ACTIVE, "CREATE", needs_action=True),
    Transition(VNF, DEPLOYED, (PENDING_CREATE,), ACTIVE, "CREATE"),
    Transition(VNF, OPERATOR_CLEAR, (ERROR,), ACTIVE, "CLEAR"),
    Transition(VNF, OPERATOR_CLEAR_ORPHANED, (ERROR,) + VNF_PENDING_STATUSES, ACTIVE, "CLEAR"),
    Transition(VNF, OPERATOR_HEAL, _SETTLED, PENDING_HEAL, "HEAL"),
    Transition(VNF, OPERATOR_HEAL_ORPHANED, _SETTLED + VNF_PENDING_STATUSES, PENDING_HEAL,
               "HEAL"),
    Transition(VNF, HEAL_DONE, (PENDING_HEAL,), ACTIVE, "HEAL"),
    Transition(VNF, HEAL_FAILED, (PENDING_HEAL,), ERROR, "HEAL"),
    *(Transition(VNF, policy_started(pending), (DEAD,), pending, "POLICY")
      for pending in POLICY_PENDING_STATUSES),
    Transition(VNF, POLICY_SUCCEEDED, _ACTING, ACTIVE, "POLICY"),
    Transition(VNF, POLICY_LEFT_DEAD, _ACTING, DEAD, "POLICY"),
    Transition(VNF, POLICY_ATTEMPT_FAILED, _ACTING, DEAD, "POLICY"),
    Transition(VNF, POLICY_FAILED, _ACTING, ERROR, "POLICY"),
    Transition(VNF, POLICY_GAVE_UP, _ACTING, ERROR, "POLICY"),
    Transition(VNF, POLICY_TIMED_OUT, _ACTING, ERROR, "POLICY"),
    Transition(VNF, POLICY_CRASHED, ANY, ERROR, "POLICY"),
    Transition(VNF, POLICY_ORPHANED, VNF_PENDING_STATUSES, ERROR, "POLICY"),
    *(Transition(resource, DEPLOY_FAILED, ANY, ERROR, "CREATE") for resource in (VIM, VNF)),
    *(Transition(resource, MONITOR_UNRECREATABLE, ANY, ERROR, "RECONCILE")
      for resource in (VIM, VNF)),
]

#: (resource type, event) -> its transition.
TRANSITIONS: dict[tuple[str, str], Transition] = {
    (row.resource_type, row.event): row for row in _ROWS}


class UnknownTransition(ValueError):
    """A bug: an event the table has no row for, or a caller that breaks the row's rules."""


def transition(resource_type: str, event: str) -> Transition:
    try:
        return TRANSITIONS[resource_type, event]
    except KeyError:
        raise UnknownTransition(f"no {resource_type} event {event!r}") from None


def guard(row: Transition, seen: str | None) -> tuple[str, ...] | None:
    """The from-statuses one write allows: the row's, or only `seen` (the status the caller
    read and decided on, a compare-and-set), which the row must allow."""
    if seen is None:
        return row.from_statuses
    if not row.allows(seen):
        raise UnknownTransition(f"{row.event} does not move a {row.resource_type} "
                                f"from {seen}")
    return (seen,)


# --- pending statuses ------------------------------------------------------------------------
JOB, FIRST_CHECKIN_ENDS = "policy job", "first check-in"
#: Added to every policy job's deadline: the owner's own timer, not a rival, should end a
#: slow job.
DEADLINE_GRACE = 5.0


@dataclass(frozen=True)
class Pending:
    """What ends a pending status, and by when. `JOB`: a policy_jobs row stands behind it,
    due by `job_deadline` (the action's timeout plus DEADLINE_GRACE); a conductor takes an
    expired job over, and a pending VNF with no job goes to ERROR (POLICY_ORPHANED).
    `FIRST_CHECKIN_ENDS`: the monitor's first check-in (FIRST_CHECKIN); the reconciler
    re-creates a monitor that misses its check-ins, so no deadline of its own."""

    status: str
    ended_by: str


PENDING = {
    PENDING_CREATE: Pending(PENDING_CREATE, FIRST_CHECKIN_ENDS),
    PENDING_HEAL: Pending(PENDING_HEAL, JOB),
    PENDING_SCALE_OUT: Pending(PENDING_SCALE_OUT, JOB),
    PENDING_DELETE: Pending(PENDING_DELETE, JOB),
}


def pending_ended_by(ended_by: str) -> tuple[str, ...]:
    return tuple(status for status, rule in PENDING.items() if rule.ended_by == ended_by)


def job_deadline(now: datetime, timeout: float, after: float = 0.0) -> datetime:
    """When a policy job started (or waiting `after` seconds) at `now` is overdue."""
    return now + timedelta(seconds=after + timeout + DEADLINE_GRACE)


def render() -> str:
    """The table as text (README, `python -m nfvmon.status_machine`)."""
    lines = ["resource  event                             from -> to  [event row; action]"]
    for row in _ROWS:
        origin = "any" if row.from_statuses is ANY else "|".join(row.from_statuses)
        action = "; current action" if row.needs_action else ""
        lines.append(f"{row.resource_type:<9} {row.event:<33} {origin} -> {row.to}  "
                     f"[{row.event_type}{action}]")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
