"""Lifecycle: register/deregister VIMs, create/delete VNFs: generate, deploy, record, clean up."""

from nfvmon.lifecycle.backends import InProcessBackend, WorkflowBackend
from nfvmon.lifecycle.service import Lifecycle, LifecycleError

__all__ = ["InProcessBackend", "Lifecycle", "LifecycleError", "WorkflowBackend"]
