"""What each model storage (the `model_storage` question) means to KServe and to Vault.

A storage's entry says how the model reaches /mnt/models (KServe's storage initializer downloads it,
a volume is mounted, a modelcar image is shared, or the image holds it), what Vault injects for it,
and from which KServe release its URIs are served.
"""

from __future__ import annotations

from dataclasses import dataclass

from kserve_kit.admission.kserve import STORAGE_SCHEMES_SINCE


@dataclass(frozen=True)
class Storage:
    example: str  # a storage URI of this kind, for help texts and errors ("" when there is none)
    downloaded: bool = False  # KServe's storage initializer fetches it (an init container with network)
    mounted: bool = True  # the model is at /mnt/models in the pod (False: baked into the image)
    # The secret Vault injects for the storage initializer: its keys in the KV path, the file it is
    # written to under /vault/secrets, and the file's template (Vault Agent's, over the KV data).
    secret_keys: tuple[str, ...] = ()
    secret_file: str = ""
    secret_template: str = ""
    # The first KServe release whose controller accepts the URI (utils.go SupportedStorageURIPrefixList).
    since: str = "0.0"


STORAGES: dict[str, Storage] = {
    "s3": Storage(
        example="s3://my-bucket/models/iris",
        downloaded=True,
        secret_keys=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        secret_file="aws-credentials",  # an AWS shared-credentials file (AWS_SHARED_CREDENTIALS_FILE)
        secret_template=(
            "[default]\n"
            "aws_access_key_id={{ .Data.data.AWS_ACCESS_KEY_ID }}\n"
            "aws_secret_access_key={{ .Data.data.AWS_SECRET_ACCESS_KEY }}\n"
        ),
    ),
    "pvc": Storage(example="pvc://my-claim/models/iris"),
    # Hugging Face's hub: `hf://<org>/<model>[:<revision>]`, fetched with huggingface_hub's
    # snapshot_download (python/kserve/kserve/storage/storage.py _download_hf, v0.15.2), from 0.15.0.
    "hf": Storage(
        example="hf://my-org/my-model",
        downloaded=True,
        secret_keys=("HF_TOKEN",),
        secret_file="hf-token",  # the token alone: huggingface_hub reads it from HF_TOKEN_PATH
        secret_template="{{ .Data.data.HF_TOKEN }}",
        since=STORAGE_SCHEMES_SINCE["hf://"],
    ),
    # An OCI image holding the model under /models, run as a modelcar beside the server (no download,
    # no storage initializer) where the cluster enables it (storageInitializer.enableModelcar).
    "oci": Storage(example="oci://ghcr.io/my-org/my-model:1.0"),
    "image": Storage(example="", mounted=False),
}
