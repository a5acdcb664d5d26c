"""Canary, promote, rollback: the kubernetes client's calls against a fake API (no cluster here), and
`make status` on the InferenceService in each state (fixtures/rollout/, README there)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from kserve_kit import KitError
from kserve_kit.__main__ import main
from kserve_kit.cluster.rollout import TAG_ROUTING_ANNOTATION, deploy, set_traffic, start_canary
from kserve_kit.cluster.snapshot import Snapshot, Subject, read_snapshot
from kserve_kit.cluster.status import assess
from kserve_kit.service import Service
from kserve_kit.smoke import resolve_target
from tests.tooling.conftest import FIXTURES

STATES = FIXTURES / "rollout"


class FakeCustomObjects:
    """CustomObjectsApi over a dict of objects, recording every write (the API server is not here)."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {(obj["kind"], obj["metadata"]["name"]): copy.deepcopy(obj) for obj in objects}
        self.calls: list[tuple[str, str, str, Any]] = []

    def _key(self, plural: str, name: str) -> tuple[str, str]:
        return ({"inferenceservices": "InferenceService", "servingruntimes": "ServingRuntime"}[plural], name)

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str) -> Any:
        if self._key(plural, name) not in self.objects:
            raise client.ApiException(status=404, reason="Not Found")
        return copy.deepcopy(self.objects[self._key(plural, name)])

    def replace_namespaced_custom_object(self, group, version, namespace, plural, name, body):  # type: ignore[no-untyped-def]
        self.calls.append(("replace", plural, name, body))
        self.objects[self._key(plural, name)] = body
        return body

    def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):  # type: ignore[no-untyped-def]
        self.calls.append(("patch", plural, name, body))
        return body


def state(name: str) -> dict[str, Any]:
    return json.loads((STATES / f"{name}.json").read_text())["items"][0]


def runtime_of(service: Service) -> dict[str, Any]:
    return {**service.manifests.of_kind("ServingRuntime")[0].obj, "metadata": {"name": "row-sum-runtime",
            "namespace": "team-a", "resourceVersion": "900"}}  # fmt: skip


def test_canary_replaces_runtime_and_isvc_with_the_share_and_tag_routing(service: Service) -> None:
    live = state("promoted")
    api = FakeCustomObjects(live, runtime_of(service))
    message = start_canary(api, service, 10)
    assert "10% of row-sum's traffic goes to the new revision" in message
    (kind1, plural1, _, runtime), (kind2, plural2, name, isvc) = api.calls
    assert (kind1, plural1, kind2, plural2, name) == ("replace", "servingruntimes", "replace", "inferenceservices",
                                                      "row-sum")  # fmt: skip
    assert runtime["metadata"]["resourceVersion"] == "900"  # a replace of what is there, never a stale one
    assert isvc["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc["metadata"]["annotations"][TAG_ROUTING_ANNOTATION] == "true"
    assert isvc["spec"]["predictor"]["model"] == service.isvc["spec"]["predictor"]["model"]  # k8s/ as it is now


def test_promote_removes_the_share_and_rollback_sets_it_to_zero(service: Service) -> None:
    api = FakeCustomObjects(state("rolling"))
    assert "all of row-sum's traffic goes to the new revision" in set_traffic(api, service, None)
    assert "goes back to the previous revision" in set_traffic(api, service, 0)
    patches = [body for kind, _, _, body in api.calls if kind == "patch"]
    assert patches == [{"spec": {"predictor": {"canaryTrafficPercent": None}}},  # merge patch: null deletes
                       {"spec": {"predictor": {"canaryTrafficPercent": 0}}}]  # fmt: skip


def test_what_cannot_be_rolled_out_is_refused_with_the_way_forward(service: Service, service_dir: Path) -> None:
    with pytest.raises(KitError, match="is not deployed in team-a.*`make deploy` first"):
        start_canary(FakeCustomObjects(), service, 10)
    with pytest.raises(KitError, match="from 1 to 99"):
        start_canary(FakeCustomObjects(state("promoted")), service, 100)
    with pytest.raises(KitError, match="has no canary to promote"):
        set_traffic(FakeCustomObjects(state("promoted")), service, None)
    broken = state("promoted")
    broken["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "RevisionFailed"}]
    with pytest.raises(KitError, match="is not ready: a canary would share traffic with a broken revision"):
        start_canary(FakeCustomObjects(broken), service, 10)
    facts = yaml.safe_load((service_dir / "kserve-kit.yaml").read_text())
    facts["deployment_mode"] = {"mode": "standard", "name": "Standard", "canary": False}
    (service_dir / "kserve-kit.yaml").write_text(yaml.safe_dump(facts))
    standard = Service.load(service_dir)
    with pytest.raises(KitError, match="Knative mode only"):
        start_canary(FakeCustomObjects(state("promoted")), standard, 10)
    with pytest.raises(KitError, match="only Knative mode has canary revisions"):
        resolve_target(standard, "internal", canary=True)


PREV = "http://prev-row-sum-predictor-team-a.example.com"
LATEST = "http://latest-row-sum-predictor-team-a.example.com"


@pytest.mark.parametrize(
    ("name", "ready", "lines"),
    [
        ("rolling", True, [f"traffic: 10% -> canary (newest revision) row-sum-predictor-00002, tag latest: {LATEST}",
                           f"traffic: 90% -> previous revision row-sum-predictor-00001, tag prev: {PREV}"]),
        ("promoted", True, []),
        ("rolled-back", True, [f"traffic: 0% -> canary (newest revision) row-sum-predictor-00002, tag latest: {LATEST}",
                               f"traffic: 100% -> previous revision row-sum-predictor-00001, tag prev: {PREV}"]),
        ("canary-failing", False, [
            "traffic: 10% -> newest ready revision (the canary row-sum-predictor-00002 is not ready) "
            f"row-sum-predictor-00001, tag latest: {LATEST}",
            f"traffic: 90% -> previous revision row-sum-predictor-00001, tag prev: {PREV}"]),
    ],
)  # fmt: skip
def test_status_shows_the_traffic_split_of_each_state(
    service: Service, name: str, ready: bool, lines: list[str]
) -> None:
    status = assess(read_snapshot(STATES / f"{name}.json"), Subject("row-sum", "team-a", service.facts))
    assert status.ready is ready
    assert [line for line in status.details if line.startswith("traffic:")] == lines
    if not ready:
        assert status.headline.startswith("CANARY FAILED: revision row-sum-predictor-00002 did not become ready")
        assert "`make rollback`" in status.headline


def test_a_failed_canary_rolled_back_is_ready_again_and_can_be_retried(service: Service) -> None:
    """After `make rollback` the failed revision takes no traffic: status is ready, a new canary may start."""
    rolled_back = state("canary-failing")
    rolled_back["spec"]["predictor"]["canaryTrafficPercent"] = 0
    assert assess(Snapshot(rolled_back), Subject("row-sum", "team-a", service.facts)).ready
    api = FakeCustomObjects(rolled_back, runtime_of(service))
    assert "10% of row-sum's traffic" in start_canary(api, service, 10)


def test_deploy_ends_a_canary_that_k8s_no_longer_declares(service: Service) -> None:
    """kubectl apply never removes canaryTrafficPercent (it did not set it): after a rollback, every later
    revision would take 0 % of the traffic. `make deploy` removes it."""
    applied = []
    api = FakeCustomObjects(state("rolled-back"))
    assert "ended the canary" in deploy(api, service, lambda: applied.append("k8s/"))
    assert applied == ["k8s/"]
    assert api.calls == [
        ("patch", "inferenceservices", "row-sum", {"spec": {"predictor": {"canaryTrafficPercent": None}}})
    ]
    quiet = FakeCustomObjects(state("promoted"))
    assert deploy(quiet, service, lambda: None) == "deployed row-sum" and quiet.calls == []


def test_a_replace_keeps_what_others_set_on_the_object(service: Service) -> None:
    live = state("promoted")
    live["metadata"] |= {"finalizers": ["inferenceservice.finalizers"], "labels": {"added-by": "platform"}}
    api = FakeCustomObjects(live, runtime_of(service))
    start_canary(api, service, 10)
    body = api.calls[-1][3]
    assert body["metadata"]["finalizers"] == ["inferenceservice.finalizers"]
    assert body["metadata"]["labels"]["added-by"] == "platform"


def test_smoke_reaches_the_canary_by_its_latest_tag(service: Service) -> None:
    internal = resolve_target(service, "internal", canary=True)
    assert internal.url == "http://latest-row-sum-predictor.team-a.svc.cluster.local"
    gateway = resolve_target(service, "gateway", canary=True)
    assert gateway.host_header == "latest-row-sum-predictor.team-a"
    forwarded = resolve_target(service, "internal", connect_to="127.0.0.1:8080", canary=True)
    assert (forwarded.url, forwarded.host_header) == ("http://127.0.0.1:8080",
                                                      "latest-row-sum-predictor.team-a.svc.cluster.local")  # fmt: skip


def test_canary_smoke_needs_a_deployed_target(service_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kserve_kit.__main__ import main

    assert main(["--repo", str(service_dir), "smoke", "--canary"]) == 2
    assert "--canary checks the canary revision of a deployed service: add --target" in capsys.readouterr().err


def test_deploy_without_a_cluster_says_so_and_not_to_use_a_snapshot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, service_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["--repo", str(service_dir), "deploy"]) == 2
    err = capsys.readouterr().err
    assert "no cluster to change: no kubeconfig" in err and "SNAPSHOT" not in err  # a snapshot cannot be deployed to
