"""Every value the templates need beyond the raw answers, computed once from answers + profile.

The templates read `kit.<name>`; the rendered repo's tooling (kserve-kit) reads the same values from
the rendered facts file `kserve-kit.yaml` (`kit.facts`). Nothing here is computed anywhere else.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extensions.kit_source import KitPin, kit_pin
from extensions.modes import DEPLOYMENT_MODE_ANNOTATION, MODES, NAMES, SCALE_TARGETS, names_for
from extensions.monitoring import SERVERS, alert_rules, dashboard, scrape_annotations
from extensions.profile import control_plane, environment_facts, external_host, load_profile
from extensions.runtimes import RUNTIMES, TORCH, TORCH_CPU_INDEX, Runtime
from extensions.storages import STORAGES
from kserve_kit.admission.releases import enabled, is_true
from kserve_kit.serving.limits import MAX_REQUEST_BYTES

KIT_ROOT = Path(__file__).resolve().parent.parent
HTTP_PORT = 8080  # the port KServe routes to in the predictor container
STORAGE_INITIALIZER_UID_ANNOTATION = "serving.kserve.io/storage-initializer-uid"
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
SCALE_DOWN_DELAY_ANNOTATION = "autoscaling.knative.dev/scale-down-delay"
GUIDANCE_VERSION_LABEL = "kserve-template/guidance-version"
KIT_VERSION_ANNOTATION = "kserve-template/kit-version"
MOUNTED_MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts the model
BAKED_MODEL_DIR = "/opt/model"  # where the Dockerfile copies the model when it is baked in
RUFF = "0.17.6"  # one version for `make lint` and pre-commit
UV = "0.13.9"  # `make lock` (kserve_kit/lock.py)


@functools.cache
def kit_version(kit_root: Path = KIT_ROOT) -> str:
    """The kit's version: pyproject.toml's, the one place it is kept (no git tag needed)."""
    return str(tomllib.loads((kit_root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def vault_annotations(answers: dict[str, Any]) -> dict[str, str]:
    """Vault Agent injector annotations for the predictor pod ("Credential for Storage Initializer").

    The storage initializer is itself an init container, so the agent must run first
    (agent-init-first) and only pre-populate the secret: no sidecar is needed afterwards. The secret
    is rendered as the storage's file (extensions/storages.py): an AWS shared-credentials file for S3,
    the token alone for Hugging Face.
    """
    secret_path, storage = answers["vault_secret_path"], STORAGES[answers["model_storage"]]
    template = f'{{{{- with secret "{secret_path}" -}}}}\n{storage.secret_template}{{{{- end }}}}\n'
    return {
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/agent-init-first": "true",
        "vault.hashicorp.com/agent-pre-populate-only": "true",
        "vault.hashicorp.com/role": answers["vault_role"],
        f"vault.hashicorp.com/agent-inject-secret-{storage.secret_file}": secret_path,
        f"vault.hashicorp.com/agent-inject-template-{storage.secret_file}": template,
    }


def scaling(mode: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The predictor's `scaleMetric` and `scaleTarget`, from the mode's own questions."""
    metric = answers[f"{mode}_scale_metric"]
    return {"metric": metric, "target": int(answers[f"{mode}_scale_target"]), "unit": SCALE_TARGETS[metric]}


def autoscaling_annotations(mode: str, answers: dict[str, Any]) -> dict[str, str]:
    """What the mode's autoscaler reads from the InferenceService beyond scaleMetric/scaleTarget."""
    autoscaler = MODES[mode].autoscaler_class
    if autoscaler:
        # Explicit, though it is KServe's default: KServe 0.16 picks the HPA validator by this class.
        return {AUTOSCALER_CLASS_ANNOTATION: autoscaler}
    delay = str(answers["knative_scale_down_delay"]).strip()
    return {} if delay in ("0", "0s") else {SCALE_DOWN_DELAY_ANNOTATION: delay}


# What pins GPU pods to GPU nodes, and the Knative config-features flag that admits each field.
GPU_PLACEMENT_FLAGS = {
    "node_selector": "kubernetes.podspec-nodeselector",
    "tolerations": "kubernetes.podspec-tolerations",
}


def gpu_placement(profile: dict[str, Any], mode: str, cluster: dict[str, Any]) -> dict[str, Any]:
    """The profile's GPU node selector and tolerations, each only where the cluster admits it: in
    Knative mode, Knative's webhook refuses them unless config-features enables them
    (kubernetes.podspec-nodeselector / -tolerations, "disabled" as Knative ships: kserve/kserve#1425).
    Where they are left out, the GPU resource alone places the pod (only GPU nodes advertise it)."""
    features = (cluster.get("knative") or {}).get("features") or {}
    wanted = {
        "node_selector": profile["gpu"]["node_selector"] or {},
        "tolerations": profile["gpu"]["tolerations"] or [],
    }
    admits = {field: mode != "knative" or enabled(features, flag) for field, flag in GPU_PLACEMENT_FLAGS.items()}
    return {
        "node_selector": wanted["node_selector"] if admits["node_selector"] else {},
        "tolerations": wanted["tolerations"] if admits["tolerations"] else [],
        # What the profile would pin GPU pods with but the cluster refuses: the README says what to ask for.
        "refused_flags": [flag for field, flag in GPU_PLACEMENT_FLAGS.items() if wanted[field] and not admits[field]],
    }


@dataclass(frozen=True)
class Basis:
    """What every part of the derivation starts from: the answers, the profile and what they select."""

    answers: dict[str, Any]
    profile: dict[str, Any]
    env: dict[str, Any]  # the environment's facts over its generation's
    cluster: dict[str, Any]  # the control plane as the kit models it
    runtime: Runtime

    @classmethod
    def of(cls, answers: dict[str, Any]) -> Basis:
        profile = load_profile(answers["platform"])
        return cls(answers, profile, environment_facts(profile, answers["environment"]),
                   control_plane(profile, answers["environment"]), RUNTIMES[answers["runtime"]])  # fmt: skip

    @property
    def mode_key(self) -> str:
        return str(self.env["deployment_mode"])

    @property
    def mode(self) -> Any:
        return MODES[self.mode_key]

    @property
    def name(self) -> str:
        return str(self.answers["service_name"])

    @property
    def namespace(self) -> str:
        return str(self.answers["namespace"])

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def storage(self) -> str:
        return str(self.answers["model_storage"])

    @property
    def mounted(self) -> bool:
        """The model comes from storage at /mnt/models (s3, pvc, hf, oci), not baked into the image."""
        return STORAGES[self.storage].mounted

    @property
    def storage_initializer(self) -> bool:
        """KServe's storage initializer downloads s3 and hf; a pvc is mounted directly where the release
        does so (always since 0.16, kserve/kserve#4694; by storageInitializer.enableDirectPvcVolumeMount
        before); an oci:// model is a modelcar (no init container)."""
        direct_pvc = is_true(self.cluster["kserve"]["config"]["storageInitializer.enableDirectPvcVolumeMount"])
        return STORAGES[self.storage].downloaded or (self.storage == "pvc" and not direct_pvc)

    @property
    def model_dir(self) -> str:
        return MOUNTED_MODEL_DIR if self.mounted else BAKED_MODEL_DIR

    @property
    def vault(self) -> bool:
        # Vault holds the storage initializer's credentials (S3 keys, a Hugging Face token).
        return bool(STORAGES[self.storage].secret_keys) and bool(self.answers.get("vault"))

    @property
    def gpu(self) -> bool:
        return self.runtime.supports_gpu and bool(self.answers.get("gpu"))

    @property
    def external(self) -> bool:
        return self.answers["visibility"] == "external"


def labels(basis: Basis) -> tuple[dict[str, str], dict[str, str]]:
    """(the labels every object gets, the InferenceService's)."""
    common = {"app.kubernetes.io/name": basis.name, "app.kubernetes.io/managed-by": "kserve-template"}
    isvc = {
        **common,
        "team": basis.answers["owner"],
        GUIDANCE_VERSION_LABEL: basis.profile["guidance_version"],
        # Backstage's Kubernetes plugin finds the service's objects by this label (catalog-info.yaml).
        "backstage.io/kubernetes-id": basis.name,
    }
    if not basis.external:
        isvc[basis.mode.visibility_label] = "cluster-local"
    return common, isvc


def required_annotations(basis: Basis) -> dict[str, str]:
    """What the environment's generation requires ("Fix incompatibility with Istio CNI" on next-gen),
    only where a storage initializer runs."""
    uid = basis.env["storage_initializer_uid"]
    return {STORAGE_INITIALIZER_UID_ANNOTATION: str(uid)} if uid is not None and basis.storage_initializer else {}


def endpoints(basis: Basis) -> dict[str, str | None]:
    """In-cluster: the predictor's name, through Knative's local gateway in Knative mode; in Standard
    mode its Service (port 80) directly: there is no local gateway."""
    predictor = f"{basis.name}-predictor"
    local_gateway = basis.env.get("local_gateway") if basis.mode.local_gateway else None
    host = external_host(basis.profile, basis.answers["environment"], basis.name, basis.namespace)
    return {
        "external": f"http://{host}" if basis.external else None,
        "internal": f"http://{predictor}.{basis.namespace}.svc.cluster.local",
        "local_gateway": f"http://{local_gateway}" if local_gateway else None,
        "gateway_host_header": f"{predictor}.{basis.namespace}" if local_gateway else None,
    }


def vault_facts(basis: Basis) -> dict[str, Any] | None:
    if not basis.vault:
        return None
    return {
        "role": basis.answers["vault_role"],
        "secret_path": basis.answers["vault_secret_path"],
        "service_account": f"{basis.name}-vault",
        "auth_delegator_role": (basis.profile.get("vault") or {}).get("auth_delegator_role"),
        # What the KV path holds and the file the agent writes it to (/vault/secrets/<file>).
        "secret_keys": list(STORAGES[basis.storage].secret_keys),
        "secret_file": STORAGES[basis.storage].secret_file,
    }


def filled(basis: Basis, arguments: tuple[str, ...]) -> list[str]:
    """A runtime entry's arguments with `{model_dir}`, `{port}`, `{package}`, `{batch}` filled in."""
    batch = str(max(1, int(basis.answers.get("batch_size") or 0)))  # 0 (off) is one request per call
    values = {"{model_dir}": basis.model_dir, "{port}": str(HTTP_PORT), "{package}": basis.package, "{batch}": batch}
    return [functools.reduce(lambda text, item: text.replace(*item), values.items(), arg) for arg in arguments]


def facts(basis: Basis, pin: KitPin, required: dict[str, str], urls: dict[str, str | None]) -> dict[str, Any]:
    """What kserve-kit reads (the rendered kserve-kit.yaml); the manifests hold the rest."""
    answers, profile, env, runtime = basis.answers, basis.profile, basis.env, basis.runtime
    return {
        "kit_version": kit_version(),
        # The kit commit this repo was rendered from: `make update-check` counts the kit's changes since.
        "kit_commit": pin.commit,
        "kit_draft": pin.draft,
        "guidance_version": profile["guidance_version"],
        "platform": answers["platform"],
        "environment": answers["environment"],
        "generation": env["generation"],
        "runtime": answers["runtime"],
        "server": runtime.server,
        "task": runtime.task,  # a text runtime's OpenAI routes (embeddings); None for rows of numbers
        "openai_prefix": runtime.openai_prefix if runtime.task else None,
        "protocols": list(runtime.protocols),  # KServe's V1/V2 routes it answers (none: OpenAI's only)
        # False: the ServingRuntime runs the profile's image (no Dockerfile; nothing to build or push).
        "builds_image": runtime.builds_image,
        "package": basis.package,
        "entrypoint": filled(basis, runtime.entrypoint),
        "model_dir": basis.model_dir,
        "artifacts": runtime.artifacts,
        "artifacts_hint": "run `make train` first",
        # A runtime going away: validate warns, naming the replacement and the move.
        "deprecation": {
            "replacement": runtime.deprecated_by,
            "move": f'make update ARGS="--data runtime={runtime.deprecated_by}"',
            "unfixable": list(runtime.unfixable),
        }
        if runtime.deprecated_by
        else None,
        "deployment_mode": {
            "mode": basis.mode_key,
            "name": basis.mode.name_for(env["kserve"]["version"]),
            **names_for(env["kserve"]["version"]),
            "names": dict(NAMES),  # every name KServe has used, whatever the release: what a cluster may say
            "canary": basis.mode.canary_traffic,
        },
        "visibility": answers["visibility"],
        "visibility_label": basis.mode.visibility_label,
        "storage": basis.storage,
        "storage_uri": answers.get("storage_uri") if basis.mounted else None,
        "storage_initializer": basis.storage_initializer,
        "endpoints": urls,
        "ready_unknown_is_known_issue": env["ready_unknown_is_known_issue"],
        "vault": vault_facts(basis),
        "guideline": {
            "title": profile["guideline"],
            "url": profile["guideline_url"],
            "contacts": profile["contacts"],
            "sections": profile.get("guideline_sections"),
        },  # fmt: skip
        "kserve": env["kserve"],
        # The cluster's KServe and Knative as the kit models them (releases, the inferenceservice-config
        # and config-features values the output depends on): validate's admission rules and doctor read it.
        "control_plane": basis.cluster,
        # What KServe's cluster configuration (inferenceservice-config) must agree with: `make doctor`.
        "ingress": {
            "gateway": profile["ingress_gateway"],
            "gateway_api": bool(profile.get("gateway_api")),
            "domain": env["domain"],
            "external_host": profile["external_host"],
        },
        "kubernetes_version": profile["kubernetes_version"],
        "policy": {
            "allowed_registries": profile["allowed_registries"],
            "allowed_python_hosts": profile["allowed_python_hosts"],
            "required_annotations": required,
            "gpu_resource": profile["gpu"]["resource"],
            "gpu_images": sorted(images["gpu"] for images in profile["base_images"].values() if "gpu" in images),
            "auth_delegator_role": (profile.get("vault") or {}).get("auth_delegator_role"),
        },
    }


def monitoring(basis: Basis, common_labels: dict[str, str]) -> dict[str, Any] | None:
    if not basis.answers.get("monitoring"):
        return None
    rule_labels = basis.profile["monitoring"].get("rule_labels") or {}  # what the platform's Prometheus selects by
    return {
        "labels": {**common_labels, "team": basis.answers["owner"], **rule_labels},
        "rules": alert_rules(basis.runtime.server, basis.answers, int(basis.profile["monitoring"]["restarts"])),
        "dashboard": dashboard(basis.runtime.server, basis.answers),
        "latency_label": SERVERS[basis.runtime.server].latency_label,  # what the latency alert measures
    }


def unconfirmed(basis: Basis) -> dict[str, bool]:
    """Which of the shown facts the profile marks unconfirmed: the README marks them where shown."""
    marked = set(basis.profile.get("unconfirmed") or [])
    return {
        "domain": f"environments.{basis.answers['environment']}.domain" in marked,
        "allowed_registries": "allowed_registries" in marked,
        "guideline_url": "guideline_url" in marked,
        "gpu_placement": any(
            f"knative.features.{flag}" in basis.cluster["unconfirmed"] for flag in GPU_PLACEMENT_FLAGS.values()
        ),
    }


def derive(answers: dict[str, Any]) -> dict[str, Any]:
    """The derived values for one set of answers (raises KeyError while answers are missing)."""
    basis = Basis.of(answers)
    profile, env, mode, runtime = basis.profile, basis.env, basis.mode, basis.runtime
    version = kit_version()
    src_path = str((answers.get("_copier_answers") or {}).get("_src_path") or KIT_ROOT)
    pin = kit_pin(src_path, version, profile["kit_source"], KIT_ROOT)
    common_labels, isvc_labels = labels(basis)
    required = required_annotations(basis)
    metrics_port = SERVERS[runtime.server].port or HTTP_PORT
    isvc_scrape, pod_scrape = scrape_annotations(mode, metrics_port, bool(answers.get("monitoring")))
    urls = endpoints(basis)
    service_facts = facts(basis, pin, required, urls)
    return {
        "version": version,
        "facts": service_facts,
        "mode": mode,
        "mode_name": service_facts["deployment_mode"]["name"],
        "scaling": scaling(basis.mode_key, answers),
        "package_name": basis.package,
        "runtime": runtime,
        "generation": env["generation"],
        "next_gen": env["generation"] == "next-gen",
        # Profile-wide facts READMEs explain: a next-gen generation to move to, an Istio CNI UID somewhere.
        "platform_has_next_gen": {"legacy", "next-gen"} <= set(profile["generations"]),
        "platform_uses_uid": any(g.get("storage_initializer_uid") for g in profile["generations"].values()),
        "external_url": urls["external"],
        "internal_url": urls["internal"],
        "local_gateway_url": urls["local_gateway"],
        "gateway_host_header": urls["gateway_host_header"],
        "ready_unknown_is_known_issue": env["ready_unknown_is_known_issue"],
        "workspace_setup": env["workspace_setup"],
        "common_labels": common_labels,
        "isvc_labels": isvc_labels,
        # The kit version changes every release: first, away from the end where owners add their own.
        "isvc_annotations": {
            KIT_VERSION_ANNOTATION: version,
            DEPLOYMENT_MODE_ANNOTATION: service_facts["deployment_mode"]["name"],
            **required,
            **autoscaling_annotations(basis.mode_key, answers),
            **isvc_scrape,
        },
        "required_annotations": required,
        "storage_initializer": basis.storage_initializer,
        "serving_runtime_name": f"{basis.name}-{answers['runtime']}",
        "http_port": HTTP_PORT,
        "entrypoint": service_facts["entrypoint"],
        "container_args": filled(basis, runtime.args),
        "probes": {kind: path.replace("{name}", basis.name) for kind, path in runtime.probes},
        "startup_probe": dict(runtime.startup_probe),
        # The image's default arguments: the ServingRuntime's, with the name KServe would put in.
        "image_cmd": [arg.replace("{{.Name}}", basis.name) for arg in filled(basis, runtime.args)],
        "storage_uri": service_facts["storage_uri"],
        "artifact_dirs": " and ".join(f"{local}/" for local in runtime.artifacts.values()),
        "model_dir": basis.model_dir,
        "vault": service_facts["vault"],
        "pod_annotations": {**(vault_annotations(answers) if basis.vault else {}), **pod_scrape},
        "metrics_port": metrics_port,
        "max_request_bytes": MAX_REQUEST_BYTES,
        "monitoring": monitoring(basis, common_labels),
        "gpu_resource": profile["gpu"]["resource"] if basis.gpu else None,
        "gpu_count": 1 if basis.gpu else 0,
        "gpu_placement": gpu_placement(profile, basis.mode_key, basis.cluster) if basis.gpu else None,
        "base_image": profile["base_images"][answers["runtime"]]["gpu" if basis.gpu else "cpu"],
        "torch": TORCH if TORCH in runtime.dependencies else None,
        "torch_cpu_index": TORCH_CPU_INDEX,
        "ruff": RUFF,
        "uv": UV,
        "tooling": pin,
        "contacts": profile["contacts"],
        "unconfirmed": unconfirmed(basis),
        "unconfirmed_note": f"[unconfirmed: ask {profile['contacts']['infra']}]",
    }
