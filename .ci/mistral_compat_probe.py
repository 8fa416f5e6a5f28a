"""Does nfvmon work with the Mistral installed next to it? Run by .ci/mistral-compat.

Run with the Python of a virtualenv holding one Mistral release and nfvmon (installed from
the checkout, not editable). Checks what Mistral itself does with nfvmon's workflows and
actions, through Mistral's own code:

1. its parser takes every workflow nfvmon generates (sync and async, VIM and VNF, and the
   shipped samples), with validation on;
2. its database layer runs on the SQLAlchemy nfvmon needs (2.x, one virtualenv for both):
   its migrations (`mistral-db-manage upgrade head`, on a PostgreSQL database of its own at
   127.0.0.1:5432; Mistral's migrations do not run on SQLite), and `create_workflows` stores
   every workflow (SQLite, tables from its models);
3. its action provider finds nfvmon's actions through the `mistral.actions` entry points,
   checks each generated task's input against the action's parameters, instantiates the
   action from that input, and calls `is_sync()` as its engine does; `run(context)` is the
   method its executor calls.

Prints one line per check; exits 1 at the first failure, with the reason.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
ROOT = Path(sys.argv[1]).resolve()


def generated() -> list[tuple[str, str]]:
    """(name, text) of the workflows nfvmon generates from the samples, both run modes."""
    from nfvmon.generator.api import vim_workflow, vnf_workflow

    out = []
    for mode in ("sync", "async"):
        for config in ("vim-config.yaml", "vim-config-kubernetes.yaml"):
            wf = vim_workflow(str(ROOT / "samples" / config), f"vim-{mode}", run_mode=mode)
            out.append((f"{config} ({mode})", wf.text))
        wf = vnf_workflow(str(ROOT / "samples" / "vnfd-ping-and-http.yaml"), f"vnf-{mode}",
                          {"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.3"]}, run_mode=mode)
        out.append((f"vnfd-ping-and-http.yaml ({mode})", wf.text))
    for path in sorted((ROOT / "samples" / "workflows").glob("*.yaml")):
        out.append((f"samples/workflows/{path.name}", path.read_text()))
    return out


def migrate(work: Path) -> None:
    """Mistral's own migrations on a fresh PostgreSQL database, dropped afterwards."""
    import subprocess
    import uuid

    import psycopg2

    name = f"nfvmon_mistral_compat_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres",
                                 dbname="postgres", connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise
        print(f"migrations: not run: PostgreSQL at 127.0.0.1:5432 not reachable ({exc})")
        return
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        conf = work / "migrate.conf"
        conf.write_text("[database]\nconnection = "
                        f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}\n")
        manage = Path(sys.executable).parent / "mistral-db-manage"
        result = subprocess.run([str(manage), "--config-file", str(conf), "upgrade", "head"],
                                capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            raise RuntimeError("mistral-db-manage upgrade head failed: "
                               + result.stderr.strip().splitlines()[-1])
        print("migrations: mistral-db-manage upgrade head on PostgreSQL")
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> int:
    from importlib.metadata import version

    import mistral

    print(f"mistral {version('mistral')}, mistral-lib {version('mistral-lib')}, "
          f"SQLAlchemy {version('SQLAlchemy')} ({Path(mistral.__file__).parent})")
    workflows = generated()

    from mistral.lang import parser

    tasks = []
    for name, text in workflows:
        specs = parser.get_workflow_list_spec_from_yaml(text, validate=True)
        for wf in specs.get_workflows():
            for task in wf.get_tasks():
                tasks.append((name, task.get_action_name(), task.get_input()))
    print(f"parser: {len(workflows)} workflows valid")

    work = tempfile.mkdtemp(prefix="nfvmon-mistral-compat-")
    conf = Path(work) / "mistral.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{work}/mistral.sqlite\n")
    from mistral import config, context

    config.parse_args(["--config-file", str(conf)])
    from mistral.db.v2 import api as db_api
    from mistral.services import workflows as wf_service

    migrate(Path(work))
    db_api.setup_db()
    context.set_ctx(context.MistralContext(user_id="nfvmon", project_id="nfvmon",
                                           is_admin=True))
    stored = 0
    for name, text in workflows:
        for definition in wf_service.create_workflows(text):
            assert db_api.get_workflow_definition(definition.name).definition == text, name
            db_api.delete_workflow_definition(definition.name)
            stored += 1
    print(f"database: {stored} workflow definitions stored and read back")

    from mistral.actions.legacy import LegacyActionProvider
    from mistral_lib import actions as ml_actions

    provider = LegacyActionProvider()
    checked = set()
    for name, action_name, task_input in tasks:
        desc = provider.find(action_name)
        assert desc is not None, f"{name}: Mistral finds no action {action_name}"
        desc.check_parameters(task_input)
        action = desc.instantiate(task_input, {})
        assert isinstance(action, ml_actions.Action), type(action)
        expect_sync = task_input.get("run_mode", "sync") != "async"
        assert action.is_sync() is expect_sync, f"{name}: is_sync() is {action.is_sync()}"
        assert list(inspect.signature(action.run).parameters) == ["context"], name
        checked.add(action_name)
    print(f"actions: {', '.join(sorted(checked))} found, checked, instantiated "
          f"({len(tasks)} tasks)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - one line for the CI log, then fail
        import traceback

        traceback.print_exc()
        print(f"mistral-compat: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
