"""The installed probe types: the `nfvmon.probes` entry points, loaded with stevedore.

Everything that knows a monitor name asks here: the generator (names, aliases, parameters,
defaults), the `[monitor]` options, and the engine (how to probe). A plugin that fails to
import, or whose declaration is inconsistent, is logged and skipped: one broken third-party
probe must not take the others down.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from types import MappingProxyType

from nfvmon.probes.interface import KINDS, ROUND_PARAMETERS, Kind, Parameter, Probe

LOG = logging.getLogger(__name__)

GROUP = "nfvmon.probes"
#: nfvmon's own probe types come first, in the order the docs have always listed them;
#: any other installed one follows, sorted by name.
_FIRST = ("ping", "http_ping", "tcp")
_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}")


class ProbeDeclarationError(Exception):
    """A probe plugin declares something nfvmon cannot use."""


@functools.cache
def installed_probes() -> Mapping[str, Probe]:
    """{name: probe} of every usable installed probe type (cached: tests that install one
    call `installed_probes.cache_clear()`)."""
    from stevedore import ExtensionManager

    manager = ExtensionManager(GROUP, invoke_on_load=True,
                               on_load_failure_callback=_load_failed)
    probes: dict[str, Probe] = {}
    kinds: dict[str, Kind] = {}
    for extension in sorted(manager, key=lambda e: _rank(e.name)):
        try:
            _check(extension.name, extension.obj, probes, kinds)
        except ProbeDeclarationError as exc:
            LOG.error("probe plugin %s (%s) skipped: %s", extension.name,
                      extension.entry_point.value, exc)
            continue
        probes[extension.name] = extension.obj
        kinds.update((p.name, p.kind) for p in extension.obj.parameters)
    return MappingProxyType(probes)


def _rank(name: str) -> tuple[int, str]:
    return (_FIRST.index(name), "") if name in _FIRST else (len(_FIRST), name)


def _load_failed(_manager, entry_point, exc: BaseException) -> None:
    LOG.error("probe plugin %s (%s) skipped: %s: %s", entry_point.name, entry_point.value,
              type(exc).__name__, exc)


def _check(name: str, probe: object, probes: Mapping[str, Probe],
           kinds: Mapping[str, Kind]) -> None:
    """Raise ProbeDeclarationError unless `probe` is usable next to the `probes` kept so far
    (a parameter name means one kind of value across all probe types: the schema is one)."""
    if not isinstance(probe, Probe):
        raise ProbeDeclarationError("not an nfvmon.probes.interface.Probe")
    if getattr(probe, "name", None) != name or not _NAME_RE.fullmatch(name):
        raise ProbeDeclarationError(f"its name must be its entry point's, {name!r} "
                                    "(lower-case letters, digits, '_', '-')")
    taken = {*probes, *aliases(probes), "noop"}
    for spelling in (name, *probe.aliases):
        if spelling in taken or not _NAME_RE.fullmatch(spelling):
            raise ProbeDeclarationError(f"name {spelling!r} is taken or not a valid name")
    declared = [p.name for p in probe.parameters]
    missing = [n for n in ROUND_PARAMETERS if n not in declared]
    if missing or len(set(declared)) != len(declared):
        raise ProbeDeclarationError(f"parameters must be unique and include {missing}")
    for parameter in probe.parameters:
        if not isinstance(parameter, Parameter) or parameter.kind not in KINDS:
            raise ProbeDeclarationError(f"{parameter!r} is not a Parameter of a known kind")
        known = kinds.get(parameter.name)
        if known is not None and known != parameter.kind:
            raise ProbeDeclarationError(f"parameter {parameter.name} is a {known.name} "
                                        f"elsewhere, not a {parameter.kind.name}")
        if parameter.name in ROUND_PARAMETERS and parameter.default is None:
            raise ProbeDeclarationError(f"parameter {parameter.name} needs a default")
    if probe.batched and type(probe).follow is Probe.follow or \
            not probe.batched and type(probe).probe is Probe.probe:
        raise ProbeDeclarationError("implements neither probe() nor, batched, follow()")


def aliases(probes: Mapping[str, Probe] | None = None) -> dict[str, str]:
    """{alias: name} of the installed probe types (`http-ping` → `http_ping`)."""
    probes = installed_probes() if probes is None else probes
    return {alias: name for name, probe in probes.items() for alias in probe.aliases}


def canonical_name(name: str) -> str:
    """The name the engine uses for a spelling a VNFD may use."""
    return aliases().get(name, name)


def get_probe(name: str) -> Probe:
    """The installed probe type `name` (or an alias); ValueError naming the installed ones."""
    probes = installed_probes()
    probe = probes.get(canonical_name(name))
    if probe is None:
        raise ValueError(f"unknown monitor {name!r} "
                         f"(installed: {', '.join(probes) or 'none'})")
    return probe


def parameters() -> dict[str, Parameter]:
    """Every parameter any installed probe type declares, by name, first declared first."""
    found: dict[str, Parameter] = {}
    for probe in installed_probes().values():
        for parameter in probe.parameters:
            found.setdefault(parameter.name, parameter)
    return found
