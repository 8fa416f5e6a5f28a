"""The conductor's `refusal` answer: why an action gets `bad_action`, in one line that names
the resource and says what to do (called directly; no broker needed)."""

from __future__ import annotations

import pytest

from nfvmon import protocol
from nfvmon.conductor_rpc.endpoints import ConductorEndpoint
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.db.api import EXTERNAL, VIM, VNF


@pytest.fixture
def endpoint(store):
    return ConductorEndpoint(store, runner=None, metrics=Metrics())


def _refusal(endpoint, action_id, resource_type, resource_id):
    return endpoint.refusal({}, action_id=action_id, resource_type=resource_type,
                            resource_id=resource_id)


def test_an_unregistered_vim_says_how_to_register_it(endpoint):
    assert _refusal(endpoint, "a1", "vim", "vim-9") == (
        "VIM vim-9 is not registered with this nfvmon: run nfvmon vim register CONFIG "
        "--deploy external, or deploy through nfvmon")


def test_an_unregistered_vnf_says_how_to_create_it(endpoint):
    assert _refusal(endpoint, "a1", "vnf", "vnf-9") == (
        "VNF vnf-9 is not registered with this nfvmon: run nfvmon vnf create VNFD "
        "--mgmt-ip VDU=IP ... --deploy external, or deploy through nfvmon")


def test_an_old_action_of_a_redeployed_monitor_is_superseded(endpoint, store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="old")
    store.set_action(VIM, "vim-1", "new")
    assert store.check_in("old") is None  # what the action got: bad_action
    assert _refusal(endpoint, "old", "vim", "vim-1") == (
        "VIM vim-1: this monitor (action old) was superseded by a newer one; nothing to do")


def test_a_superseded_external_monitor_says_which_workflow_to_deploy(endpoint, store):
    """nfvmon deploys no replacement of an operator's deployment: the operator must."""
    store.create_vim("vim-1", target="127.0.0.1", action_id="old", deployment=EXTERNAL)
    store.set_action(VIM, "vim-1", "new")  # vim update
    assert _refusal(endpoint, "old", "vim", "vim-1") == (
        "VIM vim-1: this monitor (action old) was superseded by a newer one; deploy its "
        "current workflow if it is not running (nfvmon vim workflow vim-1)")


def test_a_monitor_being_removed_was_stopped(endpoint, store):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a1")
    store.set_action(VNF, "vnf-1", None)  # delete_vnf's first step
    assert _refusal(endpoint, "a1", "vnf", "vnf-1") == (
        "VNF vnf-1: its monitoring was stopped (deleted or being deleted)")


def test_a_deregistered_vim_was_stopped_not_unregistered(endpoint, store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    assert store.delete_resource(VIM, "vim-1")
    assert _refusal(endpoint, "a1", "vim", "vim-1") == (
        "VIM vim-1: its monitoring was stopped (deregistered or being deleted)")


def test_a_vim_registered_again_after_its_deregistration_supersedes_the_old_action(
        endpoint, store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    store.delete_resource(VIM, "vim-1")
    store.create_vim("vim-1", target="127.0.0.1", action_id="a2")
    assert "superseded" in _refusal(endpoint, "a1", "vim", "vim-1")


def test_the_answer_is_one_bounded_line_for_the_longest_ids(endpoint):
    long_id = "v" * 128
    answer = _refusal(endpoint, "a" * 128, "vnf", long_id)
    assert long_id in answer and "--deploy external" in answer
    assert len(answer) <= protocol.MAX_REFUSAL and answer.isprintable()


@pytest.mark.parametrize("kwargs, reason", [
    ({"action_id": "a1", "resource_type": "tenant", "resource_id": "x"},
     "unknown resource_type 'tenant'"),
    ({"action_id": "a1", "resource_type": "vim", "resource_id": "<% $.x %>"},
     "resource_id must be an id"),
    ({"action_id": None, "resource_type": "vim", "resource_id": "x"},
     "action_id must be an id"),
])
def test_a_malformed_refusal_question_is_an_error(endpoint, kwargs, reason):
    answer = endpoint.refusal({}, **kwargs)
    assert answer.startswith(protocol.ERROR_PREFIX + reason), answer
