"""What `vim` and `vnf` share: how a monitor is deployed (`--deploy`, `-o`, `-f id|json`),
what registering prints, the `workflow` command and what a removal says about Mistral."""

from __future__ import annotations

import argparse
import json
import sys

from nfvmon.cli.command import NfvmonCommand, config_files
from nfvmon.cli.services import open_offline_lifecycle


def add_deploy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deploy", choices=("nfvmon", "external"), default="nfvmon",
                        help="nfvmon: nfvmon creates the workflow and its execution in Mistral "
                             "(default); external: only record it and write the workflow "
                             "(-o or -f json), for `mistral workflow-create` and "
                             "`mistral execution-create`")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write the workflow YAML to OUT (atomically)")
    parser.add_argument("-f", "--format", choices=("id", "json"), default="id",
                        help="id: the new id alone on stdout (default); json: "
                             '{"id", "deployment", "workflow", "name", "action_id"}')


def check_deploy_output(parsed_args: argparse.Namespace) -> None:
    from nfvmon.errors import UsageError

    if parsed_args.deploy == "external" and not parsed_args.output \
            and parsed_args.format != "json":
        raise UsageError("--deploy external writes the workflow for you to deploy: give "
                         "-o FILE (or -f json)")


def registered(lifecycle, kind: str, resource_id: str, parsed_args: argparse.Namespace) -> int:
    """The new id alone on stdout (or the JSON); for an external deployment the workflow
    file, and on stderr what to run to start the monitor."""
    from nfvmon.lifecycle.external import deploy_commands

    external = parsed_args.deploy == "external"
    workflow = lifecycle.workflow(kind, resource_id) if external else None
    if workflow is not None and parsed_args.output:
        from nfvmon.generator.output import write_atomic

        write_atomic(parsed_args.output, workflow.text)
    if parsed_args.format == "json":
        print(json.dumps({"id": resource_id, "deployment": parsed_args.deploy,
                          **(workflow.as_dict() if workflow else {})}, indent=2))
    else:
        print(resource_id)
    if workflow is not None:
        where = parsed_args.output or "the workflow (the JSON's `workflow`) saved to a file"
        print(f"{kind.upper()} {resource_id} recorded for external deployment; start its "
              f"monitor with:", file=sys.stderr)
        for command in deploy_commands(parsed_args.output or "WORKFLOW.yaml", workflow.name):
            print(f"  {command}", file=sys.stderr)
        if not parsed_args.output:
            print(f"  (WORKFLOW.yaml: {where})", file=sys.stderr)
    return 0


def external_teardown(removal) -> int:
    """Say what became of an external deployment's workflow and executions in Mistral."""
    from nfvmon.lifecycle.external import teardown_commands

    if removal.deployment != "external" or not removal.workflow_name:
        return 0
    if removal.removed_from_mistral:
        print(f"its monitor was killed; nfvmon removed workflow {removal.workflow_name} and "
              f"its executions from Mistral")
        return 0
    print(f"its monitor was killed; nfvmon did not remove workflow {removal.workflow_name} "
          f"from Mistral ({removal.problem}); remove it and its executions with:")
    for command in teardown_commands(removal.workflow_name):
        print(f"  {command}")
    return 0


class ShowWorkflow(NfvmonCommand):
    """The workflow of a resource's current monitor (to deploy it with Mistral's tools)."""

    kind = ""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("resource_id", metavar="ID")
        parser.add_argument("-o", "--output", metavar="OUT",
                            help="write the workflow YAML to OUT (atomically)")
        parser.add_argument("-f", "--format", choices=("yaml", "json"), default="yaml",
                            help='json prints {"workflow", "name", "action_id"}')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nfvmon.generator.output import write_atomic

        lifecycle = open_offline_lifecycle(config_files(parsed_args))
        workflow = lifecycle.workflow(self.kind, parsed_args.resource_id)
        if parsed_args.output:
            write_atomic(parsed_args.output, workflow.text)
        if parsed_args.format == "json":
            print(json.dumps(workflow.as_dict(), indent=2))
        elif not parsed_args.output:
            sys.stdout.write(workflow.text)
        return 0
