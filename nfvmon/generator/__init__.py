"""Workflow generator: VIM configs and TOSCA VNFDs → checked Mistral DSL v2 workflows."""

from nfvmon.generator.api import (
    GeneratedWorkflow,
    vim_workflow,
    vim_workflow_from_data,
    vnf_workflow,
    vnf_workflow_from_data,
)

__all__ = [
    "GeneratedWorkflow",
    "vim_workflow",
    "vim_workflow_from_data",
    "vnf_workflow",
    "vnf_workflow_from_data",
]
