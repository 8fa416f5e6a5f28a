"""`command`: runs a configured argv (never a shell) per operation.

The operation is appended as the last argument; NFVMON_OPERATION, NFVMON_VNF_ID and
NFVMON_VDU (identifiers only: base.check_ids) are set in its environment. A zero exit with
`{"mgmt_ips": {...}}` (or nothing) on stdout is success; anything else is a ManagerError
carrying the end of its stderr.

The command's own exit is its answer: a child it leaves behind (`sleep 60 &`) may hold
stdout open for as long as it likes, so the pipes are read while the command runs and
drained once it exits, never waited on for EOF. The command runs in a session of its own;
at the timeout its whole process group is killed.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time

from nfvmon.conductor_rpc.vnf_managers.base import (
    MAX_ANSWER,
    ManagerError,
    MgmtIps,
    VnfManager,
    check_ids,
    parse_mgmt_ips,
    shown_error,
)

#: How much of stderr is kept for the error message (its end is what explains a failure).
STDERR_TAIL = 8 * 1024
_READ = 64 * 1024
#: Seconds to drain the pipes after the command exited.
_DRAIN = 1.0


class CommandManager(VnfManager):
    def run(self, operation: str, vnf_id: str, vdu: str | None) -> MgmtIps:
        check_ids(operation, vnf_id, vdu)
        argv = list(self.conf.vnf_manager.command)
        if not argv:
            raise ManagerError("[vnf_manager] command is empty: nothing to run")
        name = shown_error(repr(argv[0]), 80)
        env = {**os.environ, "NFVMON_OPERATION": operation, "NFVMON_VNF_ID": vnf_id,
               "NFVMON_VDU": vdu or ""}
        timeout = self.conf.vnf_manager.command_timeout
        try:
            process = subprocess.Popen([*argv, operation], env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
        except FileNotFoundError:
            raise ManagerError(f"command {name} not found") from None
        except OSError as exc:
            raise ManagerError(f"command {name} cannot run: {exc.strerror}") from None
        try:
            stdout, stderr = _collect(process, time.monotonic() + timeout)
        except _TimedOut:
            raise ManagerError(f"command {name} {operation} did not finish in {timeout} s "
                               "(killed with its process group)") from None
        except _TooLong:
            raise ManagerError(f"command {name} {operation} printed more than 1 MiB on "
                               "stdout (killed with its process group)") from None
        if process.returncode != 0:
            text = stderr.decode("utf-8", "replace")
            tail = " ".join(text.strip().splitlines()[-3:])
            raise ManagerError(shown_error(f"command {name} {operation} exited "
                                           f"{process.returncode}: {tail}"))
        try:
            answer = json.loads(stdout) if stdout.strip() else None
        except ValueError:
            raise ManagerError(f"command {name} printed no JSON on stdout") from None
        return parse_mgmt_ips(answer, f"command {name}")


class _TimedOut(Exception):
    pass


class _TooLong(Exception):
    pass


def _collect(process: subprocess.Popen, deadline: float) -> tuple[bytes, bytes]:
    """Read stdout and stderr until the process exits, then what they already hold.

    Raises _TimedOut or _TooLong after killing the process group."""
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, out)
        selector.register(process.stderr, selectors.EVENT_READ, err)
        exited_at = None
        try:
            while selector.get_map():
                now = time.monotonic()
                if exited_at is None and process.poll() is not None:
                    exited_at = now
                if exited_at is None and now >= deadline:
                    _kill_group(process)
                    raise _TimedOut
                if exited_at is not None and now >= exited_at + _DRAIN:
                    break  # a child left behind keeps writing: its output is not the answer
                # Running: wake at least every 50 ms to see the exit. Exited: take only
                # what is ready now (what it wrote before exiting), not a child's later EOF.
                ready = selector.select(0 if exited_at is not None else min(0.05, deadline - now))
                if exited_at is not None and not ready:
                    break
                for key, _ in ready:
                    chunk = os.read(key.fd, _READ)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    key.data.extend(chunk)
                    if len(out) > MAX_ANSWER:
                        _kill_group(process)
                        raise _TooLong
                    del err[:-STDERR_TAIL]
            process.wait()
        finally:
            process.stdout.close()
            process.stderr.close()
    return bytes(out), bytes(err)


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the command's session (it is its group leader), then reap the command."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
