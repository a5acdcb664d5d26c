"""Every value the templates need beyond the raw answers, computed once from answers + profile.

The templates read `kit.<name>`; the rendered repo's scripts read the same values from the
rendered `service.yaml`. Nothing here is computed anywhere else.
"""

from __future__ import annotations

from typing import Any

from extensions.profile import environment_facts, load_profile

HTTP_PORT = 8080  # the port KServe routes to in the predictor container
# What each runtime means to KServe and to the rendered repo. A new runtime is one entry here plus
# its own files under runtimes/<runtime>/ (see docs/architecture.md). `{model_dir}` in
# container arguments is replaced by where the model is in the container.
RUNTIMES: dict[str, dict[str, Any]] = {
    "sklearn": {
        "model_format": "sklearn",
        "model_artifacts": "`model/` (`model.joblib`)",
        "supports_gpu": False,
        "container_command": [],  # the image's ENTRYPOINT: python -m <package>
        "container_args": ["--model_name={{.Name}}", "--model_dir={model_dir}", f"--http_port={HTTP_PORT}"],
        # KServe's Python server has per-model readiness on both protocols.
        "ready_paths": {"v1": "/v1/models/{model}", "v2": "/v2/models/{model}/ready"},
    },
    "torchserve": {
        "model_format": "pytorch",
        "model_artifacts": "`model-store/` and `config/` (`make train mar`)",
        "supports_gpu": True,
        "container_command": ["torchserve"],
        "container_args": [
            "--start",
            "--foreground",
            "--disable-token-auth",
            "--model-store={model_dir}/model-store",
            "--ts-config={model_dir}/config/config.properties",
        ],
        # TorchServe answers the V1/V2 inference routes itself but has only server-level readiness.
        "ready_paths": {"v1": "/v2/health/ready", "v2": "/v2/health/ready"},
    },
}

STORAGE_INITIALIZER_UID_ANNOTATION = "serving.kserve.io/storage-initializer-uid"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
GUIDANCE_VERSION_LABEL = "kserve-template/guidance-version"
KIT_VERSION_ANNOTATION = "kserve-template/kit-version"
MOUNTED_MODEL_DIR = "/mnt/models"  # where KServe's storage initializer puts the model
BAKED_MODEL_DIR = "/opt/model"  # where the Dockerfile copies the model when it is baked in


def vault_annotations(answers: dict[str, Any]) -> dict[str, str]:
    """Vault Agent injector annotations for the predictor pod ("Credential for Storage Initializer").

    The storage initializer is itself an init container, so the agent must run first
    (agent-init-first) and only pre-populate the secret: no sidecar is needed afterwards.
    The template renders the secret as an AWS shared-credentials file.
    """
    secret_path = answers["vault_secret_path"]
    template = (
        f'{{{{- with secret "{secret_path}" -}}}}\n'
        "[default]\n"
        "aws_access_key_id={{ .Data.data.AWS_ACCESS_KEY_ID }}\n"
        "aws_secret_access_key={{ .Data.data.AWS_SECRET_ACCESS_KEY }}\n"
        "{{- end }}\n"
    )
    return {
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/agent-init-first": "true",
        "vault.hashicorp.com/agent-pre-populate-only": "true",
        "vault.hashicorp.com/role": answers["vault_role"],
        "vault.hashicorp.com/agent-inject-secret-aws-credentials": secret_path,
        "vault.hashicorp.com/agent-inject-template-aws-credentials": template,
    }


def derive(answers: dict[str, Any]) -> dict[str, Any]:
    """The derived values for one set of answers (raises KeyError while answers are missing)."""
    profile = load_profile(answers["platform"])
    env = environment_facts(profile, answers["environment"])
    name, namespace = answers["service_name"], answers["namespace"]
    runtime = RUNTIMES[answers["runtime"]]
    next_gen = env["generation"] == "next-gen"
    predictor = f"{name}-predictor"
    external_host = f"{predictor}-{namespace}-{profile['external_host_suffix']}.{env['domain']}"
    internal_host = f"{predictor}.{namespace}.svc.cluster.local"
    # The kit's git tag (`git describe`) this repo was rendered or last updated from.
    kit_version = (answers.get("_copier_answers") or {}).get("_commit") or "unversioned"
    storage = answers["model_storage"]
    vault = storage == "s3" and bool(answers.get("vault"))  # Vault holds the S3 credentials

    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/managed-by": "kserve-template",
        "team": answers["owner"],
        GUIDANCE_VERSION_LABEL: profile["guidance_version"],
    }
    if answers["visibility"] == "cluster-local":
        labels[profile["visibility_label"]] = "cluster-local"

    # What the environment's generation requires ("Fix incompatibility with Istio CNI" on next-gen).
    required_annotations = {}
    if env["storage_initializer_uid"] is not None:
        required_annotations[STORAGE_INITIALIZER_UID_ANNOTATION] = str(env["storage_initializer_uid"])
    annotations = {
        DEPLOYMENT_MODE_ANNOTATION: profile["deployment_mode"],
        KIT_VERSION_ANNOTATION: kit_version,
        **required_annotations,
    }

    gpu = runtime["supports_gpu"] and bool(answers.get("gpu"))
    model_dir = BAKED_MODEL_DIR if storage == "image" else MOUNTED_MODEL_DIR
    return {
        "package_name": name.replace("-", "_"),
        "generation": env["generation"],
        "next_gen": next_gen,
        "domain": env["domain"],
        "external_host": external_host,
        "external_url": f"http://{external_host}",
        "internal_host": internal_host,
        "internal_url": f"http://{internal_host}",
        "local_gateway": env["local_gateway"],
        "local_gateway_url": f"http://{env['local_gateway']}",
        "gateway_host_header": f"{predictor}.{namespace}",
        "ready_unknown_is_known_issue": env["ready_unknown_is_known_issue"],
        "workspace_setup": env["workspace_setup"],
        "isvc_labels": labels,
        "isvc_annotations": annotations,
        "required_annotations": required_annotations,
        "serving_runtime_name": f"{name}-{answers['runtime']}",
        "model_format": runtime["model_format"],
        "model_artifacts": runtime["model_artifacts"],
        "http_port": HTTP_PORT,
        "container_command": runtime["container_command"],
        "container_args": [arg.replace("{model_dir}", model_dir) for arg in runtime["container_args"]],
        "protocol_paths": {
            protocol: {
                "ready": runtime["ready_paths"][protocol].format(model=name),
                "predict": predict.format(model=name),
            }
            for protocol, predict in (("v1", "/v1/models/{model}:predict"), ("v2", "/v2/models/{model}/infer"))
        },
        "storage_uri": answers.get("storage_uri") if storage in ("s3", "pvc") else None,
        "model_dir": model_dir,
        "service_account_name": f"{name}-vault" if vault else None,
        "pod_annotations": vault_annotations(answers) if vault else {},
        "auth_delegator_role": profile["vault"]["auth_delegator_role"],
        "gpu_resource": profile["gpu"]["resource"] if gpu else None,
        "gpu_count": 1 if gpu else 0,
        "node_selector": profile["gpu"]["node_selector"] if gpu else {},
        "tolerations": profile["gpu"]["tolerations"] if gpu else [],
        "base_image": profile["base_images"][answers["runtime"]]["gpu" if gpu else "cpu"],
        "allowed_registries": profile["allowed_registries"],
        "gpu_images": sorted(images["gpu"] for images in profile["base_images"].values() if "gpu" in images),
        "allowed_python_hosts": profile["allowed_python_hosts"],
        "guideline": profile["guideline"],
        "guideline_url": profile["guideline_url"],
        "guidance_version": profile["guidance_version"],
        "kit_version": kit_version,
    }
