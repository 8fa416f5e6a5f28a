"""Probe types as plugins (`nfvmon.probes` entry points): the interface, the registry, and
nfvmon's own probe types (one module each). See interface.py for how to write one."""

from nfvmon.probes.interface import Parameter, Probe, ProbeEngine, round_parameters
from nfvmon.probes.registry import GROUP, canonical_name, get_probe, installed_probes

__all__ = ["GROUP", "Parameter", "Probe", "ProbeEngine", "canonical_name", "get_probe",
           "installed_probes", "round_parameters"]
