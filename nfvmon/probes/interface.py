"""The probe-type plugin interface (entry points `nfvmon.probes`): one class per probe type.

A probe type declares its name, the other spellings a VNFD may use, and its parameters, each
with a default and a kind (the kind carries the range and the one-line rule). The VNFD
schema, the generator's defaults, the `[monitor]` options and the README's table are derived
from these declarations, so this module imports nothing heavy: a probe imports its network
library inside `probe()` or `follow()`, which only run on the engine.

How it probes: a per-target probe implements `probe()`, one attempt on one address, and the
engine runs its rounds (up to `count` attempts, every `interval`); a batched probe
(`batched = True`, like ICMP) implements `follow()` and hands its rounds to a batching
scheduler the engine shares between every target of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

Value = int | float | bool | str


@dataclass(frozen=True)
class Kind:
    """What values a parameter takes: a JSON Schema (with the `x-message` users see), the
    oslo.config option type of its `[monitor]` default, and whether fractions are kept."""

    name: str
    schema: Mapping[str, Any] = field(hash=False)
    option: str  # "int", "float", "bool" or "str"

    @property
    def whole(self) -> bool:
        """Whole numbers: a 3.0 in the input is written 3 (JSON Schema's integer admits it)."""
        return self.option == "int"


DELAY = Kind("delay", {"type": "number", "minimum": 0, "maximum": 86400,
                       "x-message": "must be a number of seconds from 0 to 86400"}, "float")
SECONDS = Kind("seconds", {"type": "number", "exclusiveMinimum": 0, "maximum": 86400,
                           "x-message": "must be a positive number of seconds (at most 86400)"},
               "float")
COUNT = Kind("count", {"type": "integer", "minimum": 1, "maximum": 1000,
                       "x-message": "must be a positive integer (at most 1000)"}, "int")
PORT = Kind("port", {"type": "integer", "minimum": 1, "maximum": 65535,
                     "x-message": "must be a port number from 1 to 65535"}, "int")
BOOLEAN = Kind("boolean", {"type": "boolean", "x-message": "must be true or false"}, "bool")
#: An RFC 1123 host name: letters, digits, '-' in dot-separated labels (so no `<% %>`).
HOSTNAME = Kind("hostname", {
    "type": "string",
    "pattern": r"^(?=[A-Za-z0-9.-]{1,253}(?![\s\S]))(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
               r"(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*(?![\s\S])",
    "x-message": "must be a host name (letters, digits, '-', dot-separated labels)"}, "str")

KINDS = (DELAY, SECONDS, COUNT, PORT, BOOLEAN, HOSTNAME)


@dataclass(frozen=True)
class Parameter:
    """One parameter of a probe type. `default=None`: optional, left out unless given (and
    then no `[monitor]` option either)."""

    name: str
    kind: Kind
    default: Value | None
    help: str = ""


#: What every probe type's rounds and judgement need (see nfvmon/actions/tracking.py).
ROUND_PARAMETERS = ("monitoring_delay", "count", "interval", "timeout", "retry")


def round_parameters(monitoring_delay: float = 45, count: int = 3, interval: float = 1,
                     timeout: float = 2, retry: int = 3) -> tuple[Parameter, ...]:
    """The five parameters every probe type has, with this type's defaults."""
    return (Parameter("monitoring_delay", DELAY, monitoring_delay),
            Parameter("count", COUNT, count),
            Parameter("interval", SECONDS, interval),
            Parameter("timeout", SECONDS, timeout),
            Parameter("retry", COUNT, retry))


class ProbeEngine(Protocol):
    """What the engine (nfvmon/actions/runtime.py) lends a probe: shared, per process."""

    def http_session(self) -> Any:
        """The process's aiohttp.ClientSession (one keep-alive pool for every HTTP probe)."""

    async def icmp_follow(self, address: str, count: int, timeout: float, interval: float,
                          on_round: Callable[[bool], None]) -> None:
        """ICMP echo rounds in the process's shared batches, until cancelled."""


class Probe:
    """A probe type. Subclass it, set the class attributes, implement `probe` (or, with
    `batched = True`, `follow`), and name the class in an `nfvmon.probes` entry point whose
    name is `name`. Instances are made once per process and must hold no per-target state."""

    #: The name a VNFD's monitoring_policy uses (and the `[monitor]` options' prefix).
    name: ClassVar[str]
    #: Other spellings a VNFD may use (`http-ping`).
    aliases: ClassVar[tuple[str, ...]] = ()
    #: One line for the docs: what alive means.
    summary: ClassVar[str] = ""
    #: Must include ROUND_PARAMETERS; the order is the order workflows list them in.
    parameters: ClassVar[tuple[Parameter, ...]] = ()
    #: True: `follow()` runs whole rounds on a shared batch scheduler (ICMP).
    batched: ClassVar[bool] = False

    async def probe(self, engine: ProbeEngine, address: str, params: Mapping[str, Any],
                    timeout: float) -> bool:
        """One attempt: True when `address` answered within `timeout` seconds."""
        raise NotImplementedError

    async def follow(self, engine: ProbeEngine, address: str, params: Mapping[str, Any],
                     on_round: Callable[[bool], None]) -> None:
        """Batched probes: probe `address` in rounds until cancelled, calling
        `on_round(alive)` after each."""
        raise NotImplementedError

    @classmethod
    def defaults(cls) -> dict[str, Value]:
        """The parameters that have a default, with it, in declaration order."""
        return {p.name: p.default for p in cls.parameters if p.default is not None}
