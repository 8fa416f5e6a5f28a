"""Which control hub a process's monitors use: one RabbitMQ consumer for all of them
(control.RabbitControlHub), or one oslo.messaging RPC server per monitor on any other
transport (control_oslo.OsloControlHub). The choice lives here so that neither hub imports
the other."""

from __future__ import annotations

from oslo_config import cfg

from nfvmon.actions.control import RabbitControlHub
from nfvmon.actions.control_oslo import OsloControlHub
from nfvmon.protocol import EXCHANGE


def control_hub(transport, transport_url: str | None):
    """The hub for `transport`, opened from `transport_url`: RabbitMQ gets the shared
    consumer; any other URL, or none (a transport of unknown URL), one RPC server per
    monitor, which works on any transport."""
    url = transport_url or ""
    if not url.startswith("rabbit"):
        return OsloControlHub(transport)
    rabbit = getattr(cfg.CONF, "oslo_messaging_rabbit", None)
    option = (lambda name: bool(getattr(rabbit, name, False))) if rabbit else (lambda _: False)
    return RabbitControlHub(url, EXCHANGE,
                            durable=option("amqp_durable_queues") or option("rabbit_quorum_queue"),
                            auto_delete=option("amqp_auto_delete"), ssl=option("ssl"))
