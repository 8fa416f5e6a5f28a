"""Mistral actions shipped by nfvmon (registered under the `mistral.actions` entry points)."""

from nfvmon.actions.vim_ping import VimPingAction
from nfvmon.actions.vnf_policy_monitor import VnfPolicyMonitorAction

#: Mistral action name → class; setup.cfg's `mistral.actions` entry points mirror this.
ACTIONS = {
    "nfvmon.vim_ping_action": VimPingAction,
    "nfvmon.vnf_policy_monitor": VnfPolicyMonitorAction,
}

__all__ = ["ACTIONS", "VimPingAction", "VnfPolicyMonitorAction"]
