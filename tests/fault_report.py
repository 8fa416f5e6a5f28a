"""What a fault run's database says against its truth: the figures of the fault suite.

Pure functions over plain records (events read from the database, the truth's target
history and kills), so the comparison can be read and tested without any service.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PENDING_PREFIX = "PENDING_"


@dataclass(frozen=True)
class EventRow:
    resource_id: str
    at: float              # epoch seconds
    event_type: str
    state: str
    details: Mapping


@dataclass(frozen=True)
class Kill:
    """The run stopped `address`, the VNF's target, at `at`: the VNF must go DEAD (naming
    that address), PENDING_HEAL, and ACTIVE again on a new address."""

    at: float
    vnf_id: str
    address: str
    fault: str = ""        # the fault injected with it


@dataclass
class Convergence:
    kind: str
    seconds: float | None  # None: not converged within the run's timeout
    detail: str = ""


@dataclass
class Figures:
    expected: int = 0
    recorded: int = 0
    #: {fault: (transitions expected, recorded)} for the targets stopped with each fault.
    by_fault: dict[str, list[int]] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    wrong_at_end: list[str] = field(default_factory=list)
    convergence: list[Convergence] = field(default_factory=list)
    bound: float = 0.0

    @property
    def lost(self) -> int:
        return self.expected - self.recorded

    def lost_with(self, fault: str) -> int:
        expected, recorded = self.by_fault.get(fault, (0, 0))
        return expected - recorded

    def by_kind(self) -> dict[str, list[Convergence]]:
        kinds: dict[str, list[Convergence]] = {}
        for item in self.convergence:
            kinds.setdefault(item.kind, []).append(item)
        return kinds

    def goals_met(self) -> bool:
        return (self.lost == 0 and not self.stale and not self.stuck
                and not self.wrong_at_end
                and all(c.seconds is not None and c.seconds <= self.bound
                        for c in self.convergence))


def alive_at(history: Sequence[tuple[float, str, bool]], address: str, at: float) -> bool:
    """Whether the truth had `address` answering at time `at`."""
    alive = False
    for when, where, up in history:
        if when > at:
            break
        if where == address:
            alive = up
    return alive


def count_recorded(events: Sequence[EventRow], kills: Sequence[Kill]
                   ) -> tuple[int, list[int]]:
    """Transitions of one VNF found in its events, in order: (1 if ACTIVE after its
    creation, else 0; for each kill in time order, how many of DEAD naming the killed
    address, PENDING_HEAL and ACTIVE)."""
    position = 0

    def find(start: int, predicate) -> int | None:
        for index in range(start, len(events)):
            if predicate(events[index]):
                return index
        return None

    created = find(0, lambda e: e.event_type == "CREATE" and e.state == "ACTIVE")
    if created is not None:
        position = created + 1
    per_kill = []
    for kill in sorted(kills, key=lambda k: k.at):
        dead = find(position, lambda e, k=kill: e.state == "DEAD"
                    and _report(e).get("target") == k.address)
        if dead is None:
            per_kill.append(0)
            continue
        heal = find(dead + 1, lambda e: e.state == "PENDING_HEAL")
        active = find(heal + 1, lambda e: e.state == "ACTIVE") if heal is not None else None
        per_kill.append(1 + (heal is not None) + (active is not None))
        position = max(i for i in (dead, heal, active) if i is not None) + 1
    return (0 if created is None else 1), per_kill


def stale_writes(events: Sequence[EventRow], history: Sequence[tuple[float, str, bool]]
                 ) -> list[str]:
    """Monitor writes the database accepted though they were not true when written: a
    report naming an address its VDU no longer had (by the VNF's own recorded addresses:
    only an old action watches one), a DEAD of a target the truth had answering, or a
    recovery of a target the truth had dead."""
    stale = []
    addresses: dict[str, list[str]] = {}
    for event in events:
        if event.event_type == "CREATE" and "vdus" in event.details:
            addresses = {k: list(v) for k, v in event.details["vdus"].items()}
        if event.event_type == "POLICY" and event.details.get("mgmt_ips"):
            addresses.update({k: list(v) for k, v in event.details["mgmt_ips"].items()})
        report = _report(event)
        if event.event_type != "MONITOR" or not report.get("target"):
            continue
        target, vdu = report["target"], report.get("vdu")
        where = f"{event.resource_id} {event.state} of {vdu} {target}"
        if target not in addresses.get(vdu, []):
            stale.append(f"{where}: not an address of {vdu} then ({addresses.get(vdu)})")
        elif event.state == "DEAD" and alive_at(history, target, event.at):
            stale.append(f"{where}: the target was answering")
        elif event.state == "ACTIVE" and not alive_at(history, target, event.at):
            stale.append(f"{where}: the target was dead")
    return stale


def analyse(events: Mapping[str, Sequence[EventRow]], kills: Iterable[Kill],
            history: Sequence[tuple[float, str, bool]], final: Mapping[str, tuple[str, dict]],
            alive: set[str], convergence: list[Convergence], bound: float) -> Figures:
    """`final`: each VNF's (status, {vdu: [addresses]}) at the end; `alive`: the truth's
    answering addresses at the end."""
    figures = Figures(convergence=convergence, bound=bound)
    kills_of: dict[str, list[Kill]] = {}
    for kill in kills:
        kills_of.setdefault(kill.vnf_id, []).append(kill)
    for vnf_id, (status, mgmt_ips) in final.items():
        rows, mine = events.get(vnf_id, []), sorted(kills_of.get(vnf_id, []),
                                                    key=lambda k: k.at)
        created, per_kill = count_recorded(rows, mine)
        figures.expected += 1 + 3 * len(mine)
        figures.recorded += created + sum(per_kill)
        for kill, found in zip(mine, per_kill, strict=True):
            counts = figures.by_fault.setdefault(kill.fault, [0, 0])
            counts[0] += 3
            counts[1] += found
        figures.stale += stale_writes(rows, history)
        if status.startswith(PENDING_PREFIX):
            figures.stuck.append(f"{vnf_id} {status}")
        elif status != "ACTIVE" or not all(ip in alive for ips in mgmt_ips.values()
                                           for ip in ips):
            figures.wrong_at_end.append(f"{vnf_id} {status} {mgmt_ips}")
    return figures


def render(figures: Figures) -> str:
    lines = [
        f"transitions expected {figures.expected}, recorded {figures.recorded}, "
        f"lost {figures.lost}",
        f"stale writes accepted {len(figures.stale)}",
        f"resources stuck in a pending state {len(figures.stuck)}",
        f"resources wrong at the end (not ACTIVE, or on a dead address) "
        f"{len(figures.wrong_at_end)}",
        f"time to converge after each fault (goal <= {figures.bound:g} s):",
        f"  {'fault':<28} {'n':>3} {'p50 s':>7} {'max s':>7} {'not converged':>13} "
        f"{'lost':>5}",
    ]
    for kind, items in figures.by_kind().items():
        done = [c.seconds for c in items if c.seconds is not None]
        p50 = f"{statistics.median(done):7.1f}" if done else f"{'-':>7}"
        worst = f"{max(done):7.1f}" if done else f"{'-':>7}"
        lines.append(f"  {kind:<28} {len(items):>3} {p50} {worst} "
                     f"{len(items) - len(done):>13} {figures.lost_with(kind):>5}")
    for title, items in (("stale", figures.stale), ("stuck", figures.stuck),
                         ("wrong at end", figures.wrong_at_end)):
        lines += [f"  {title}: {item}" for item in items[:20]]
    lines += [f"  not converged: {c.kind}: {c.detail}" for c in figures.convergence
              if c.seconds is None]
    lines.append("goals (0 lost, 0 stale, 0 stuck, every fault converged in time): "
                 + ("met" if figures.goals_met() else "NOT met"))
    return "\n".join(lines)


def _report(event: EventRow) -> Mapping:
    report = event.details.get("report") if isinstance(event.details, Mapping) else None
    return report if isinstance(report, Mapping) else {}
