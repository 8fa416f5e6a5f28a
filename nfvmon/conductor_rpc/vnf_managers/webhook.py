"""`webhook`: POSTs `{"operation", "vnf_id", "vdu"}` as JSON; the answer may carry mgmt_ips."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from nfvmon.conductor_rpc.vnf_managers.base import ManagerError, MgmtIps, VnfManager, parse_mgmt_ips


class WebhookManager(VnfManager):
    def run(self, operation: str, vnf_id: str, vdu: str | None) -> MgmtIps:
        url = self.conf.vnf_manager.webhook_url
        if not url:
            raise ManagerError("[vnf_manager] webhook_url is not set")
        body = json.dumps({"operation": operation, "vnf_id": vnf_id, "vdu": vdu}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.conf.vnf_manager.webhook_token:
            headers["Authorization"] = f"Bearer {self.conf.vnf_manager.webhook_token}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request,
                                        timeout=self.conf.vnf_manager.webhook_timeout) as reply:
                text = reply.read(1024 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise ManagerError(f"webhook {operation}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ManagerError(f"webhook {operation}: {getattr(exc, 'reason', exc)}") from None
        try:
            answer = json.loads(text) if text.strip() else None
        except ValueError:
            raise ManagerError(f"webhook {operation}: the answer is not JSON") from None
        return parse_mgmt_ips(answer, "webhook")
