"""nfvmon: liveness monitoring for NFV infrastructure, run by OpenStack Mistral."""

__version__ = "0.1.0"
