"""A vLLM service's ServingRuntime, as its owner edits it: vLLM runs only in its image on a GPU, so
these check what the pod will get instead of a running server. Each is a mistake vLLM reports only in
the cluster (a model it cannot find, a name the smoke and the clients do not know, a port nobody
probes) or never (an alert on a metric it does not export: test_monitoring_recorded.py)."""

from __future__ import annotations

from typing import Any

from kserve_kit.service import NAME_PLACEHOLDER, Service


def _options(service: Service) -> dict[str, str]:
    """vLLM's `--option=value` arguments of the ServingRuntime (the kit writes them in that form)."""
    pairs = (str(arg).removeprefix("--").partition("=") for arg in service.runtime_container.get("args") or [])
    return {name: value for name, sep, value in pairs if sep}


def _probes(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    kinds = ("readinessProbe", "livenessProbe", "startupProbe")
    return {kind: container[kind]["httpGet"] for kind in kinds if kind in container}


def test_vllm_serves_the_model_under_the_inference_services_name(service: Service) -> None:
    # KServe puts the InferenceService's name in for {{.Name}}: /v1/models lists it, clients and the smoke ask for it.
    assert _options(service).get("served-model-name") == NAME_PLACEHOLDER, _options(service)


def test_vllm_reads_the_model_where_storage_puts_it(service: Service) -> None:
    assert _options(service).get("model") == service.facts["model_dir"], (
        f"--model must be {service.facts['model_dir']}, where KServe puts {service.facts.get('storage_uri')}"
    )


def test_vllm_listens_where_the_pod_routes_and_probes(service: Service) -> None:
    container = service.runtime_container
    port = _options(service).get("port")
    declared = [str(entry.get("containerPort")) for entry in container.get("ports") or []]
    assert port and declared == [port], f"--port={port} but the container declares ports {declared}"
    probes = _probes(container)
    assert {kind: str(probe.get("port")) for kind, probe in probes.items()} == dict.fromkeys(probes, port), probes
    # vLLM lists the model only once it is loaded: readiness (and the start-up wait) ask for that.
    assert probes["readinessProbe"]["path"] == f"{service.openai_prefix}/models", probes
    assert probes.get("startupProbe", {}).get("path") == probes["readinessProbe"]["path"], probes


def test_vllm_gets_shared_memory_and_a_writable_cache(service: Service) -> None:
    container = service.runtime_container
    mounts = {mount["mountPath"]: mount["name"] for mount in container.get("volumeMounts") or []}
    runtime = service.manifests.of_kind("ServingRuntime")[0].obj["spec"]
    volumes = {volume["name"]: volume for volume in runtime.get("volumes") or []}
    assert volumes.get(mounts.get("/dev/shm", ""), {}).get("emptyDir", {}).get("medium") == "Memory", mounts
    environment = {item["name"]: item.get("value") for item in container.get("env") or []}
    for variable in ("HF_HOME", "VLLM_CONFIG_ROOT", "HOME"):
        path = environment.get(variable, "")
        assert any(path == mount or path.startswith(mount + "/") for mount in mounts), (
            f"{variable}={path!r} is not on a writable volume (the root filesystem is read-only): {sorted(mounts)}"
        )
