"""Client-side RPC APIs: the targets and clients over nfvmon.protocol's names.

`ConductorAPI` is what monitor actions (and the lifecycle) call (version 1.0, and 1.1 for
`refusal`); `MonitorControlAPI` is what
the conductor and the lifecycle use to reach one running monitor action, on topic
`KILL_ACTION` with the action id as server name, so its queue is `KILL_ACTION.<action_id>`
and a kill reaches the action it names and no other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import oslo_messaging as messaging

from nfvmon.protocol import (
    CHECK_IN,
    DEFAULT_TOPIC,
    EXCHANGE,
    EXECUTE_POLICY_ACTION,
    KILL,
    KILL_TOPIC,
    REFUSAL,
    REFUSAL_VERSION,
    UPDATE,
    UPDATE_VIM,
    VERSION,
)


def conductor_target(topic: str = DEFAULT_TOPIC, server: str | None = None) -> messaging.Target:
    return messaging.Target(topic=topic, exchange=EXCHANGE, version=VERSION, server=server)


def control_target(action_id: str) -> messaging.Target:
    return messaging.Target(topic=KILL_TOPIC, exchange=EXCHANGE, version=VERSION,
                            server=action_id)


class ConductorAPI:
    """Calls into the conductors (any one of them on the topic answers)."""

    def __init__(self, transport: messaging.Transport, topic: str = DEFAULT_TOPIC,
                 timeout: float = 30):
        self._client = messaging.get_rpc_client(transport, conductor_target(topic),
                                                timeout=timeout)

    def update_vim(self, ctxt: dict, vim_id: str, status: str, action_id: str) -> str:
        return self._client.call(ctxt, UPDATE_VIM, vim_id=vim_id, status=status,
                                 action_id=action_id)

    def execute_policy_action(self, ctxt: dict, vnf: Mapping[str, Any] | str,
                              monitor_return_value: Mapping[str, Any],
                              policy_actions: Mapping[str, str], action_id: str) -> str:
        return self._client.call(ctxt, EXECUTE_POLICY_ACTION, vnf=vnf,
                                 monitor_return_value=monitor_return_value,
                                 policy_actions=policy_actions, action_id=action_id)

    def check_in(self, ctxt: dict, action_id: str, digest: str) -> str:
        """`ok`, `bad_action` (exit), or `resync` (re-send the full state)."""
        return self._client.call(ctxt, CHECK_IN, action_id=action_id, digest=digest)

    def refusal(self, ctxt: dict, action_id: str, resource_type: str, resource_id: str) -> str:
        """Why the conductor answers `bad_action` to `action_id` (monitoring `resource_type`
        `resource_id`: "vim" or "vnf"): one line naming the resource and what to do.
        Version 1.1: a 1.0 conductor refuses the call (an exception here)."""
        return self._client.prepare(version=REFUSAL_VERSION).call(
            ctxt, REFUSAL, action_id=action_id, resource_type=resource_type,
            resource_id=resource_id)


CAST_RETRIES = 1  # reconnections a kill/update cast tries before it is given up


class MonitorControlAPI:
    """Casts to one running monitor action: `kill` it, or `update` its targets."""

    def __init__(self, transport: messaging.Transport):
        self._transport = transport

    def _client(self, action_id: str):
        # Bounded: oslo.messaging retries an unreachable broker for ever by default, which
        # hung a lifecycle command (and a policy worker) while the broker was down. A lost
        # cast is covered by the monitor's check-in.
        return messaging.get_rpc_client(self._transport, control_target(action_id),
                                        retry=CAST_RETRIES)

    def kill(self, ctxt: dict, action_id: str) -> None:
        self._client(action_id).cast(ctxt, KILL, action_id=action_id)

    def update(self, ctxt: dict, action_id: str, parameter: Mapping[str, Any]) -> None:
        """`parameter`: `{"mgmt_ips": {VDU: [IP, ...]}, "renewed": [VDU, ...]}` for a VNF
        monitor (all VDUs' addresses, and the VDUs respawned or healed)."""
        self._client(action_id).cast(ctxt, UPDATE, action_id=action_id,
                                     parameter=dict(parameter))
