"""The lifecycle a conductor's reconciler re-creates monitors through.

The conductor sits below the lifecycle and does not import it: whoever starts a conductor
(the `nfvmon conductor` command, a test) hands it this factory, and gets a reconciler.
"""

from __future__ import annotations

from nfvmon import config
from nfvmon.conductor_rpc.client import MonitorControlAPI
from nfvmon.lifecycle.backends import MistralBackend
from nfvmon.lifecycle.service import Lifecycle


def reconciler_lifecycle(conf, store, transport) -> Lifecycle:
    """Mistral as the conductor's configuration names it, kills over its transport, and the
    operator's [monitor] defaults: what a re-created monitor is made with."""
    return Lifecycle(store, MistralBackend.from_conf(conf), MonitorControlAPI(transport),
                     run_mode=conf.mistral.run_mode,
                     monitor_defaults=config.all_monitor_defaults(conf))
