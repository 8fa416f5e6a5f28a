"""Lifecycle: register/deregister VIMs, create/delete VNFs: generate, deploy, record, clean up."""

from nfvmon.lifecycle.backends import InProcessBackend, MistralBackend, WorkflowBackend
from nfvmon.lifecycle.external import Removal
from nfvmon.lifecycle.service import Lifecycle, LifecycleError

__all__ = ["InProcessBackend", "MistralBackend", "Lifecycle", "LifecycleError", "Removal",
           "WorkflowBackend"]
