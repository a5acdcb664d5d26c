"""The plugin: fixtures (the service, its sample, its model trained into a temporary directory, a real
server on 127.0.0.1) and the conformance modules added to what `pytest` collects in a service repo.

The modules are added when pytest runs without paths (`make test`) or with `--kserve-conformance`;
`pytest tests/test_model.py` runs only what it names. Outside a service repo the plugin does nothing.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kserve_kit.local_server import LOCAL_SERVERS, LocalServer
from kserve_kit.service import FACTS_FILE, Service

HERE = Path(__file__).parent
TASK_MODULES = {"embeddings": "embeddings", "text-generation": "generation"}  # test_openai_<module>.py


def conformance_modules(service: Service) -> list[Path]:
    """The modules that apply to this service: by its server kind and task, and its monitoring/."""
    local = service.server in LOCAL_SERVERS  # vLLM runs only in its image, on a GPU
    modules = ["test_server.py"] if local else [f"test_{service.server}_runtime.py"]
    if service.server == "kserve":
        modules += ["test_kserve_server.py", "test_batching.py"]
        # rows of numbers (inputs.py, the fast path), or texts and OpenAI's routes
        if service.task:
            modules += ["test_openai.py", f"test_openai_{TASK_MODULES[service.task]}.py"]
        else:
            modules += ["test_inputs.py", "test_fast_path.py"]
    if (service.root / "monitoring").is_dir():
        modules.append("test_monitoring.py" if local else "test_monitoring_recorded.py")
    return [HERE / module for module in modules]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kserve-conformance", action="store_true", help="run kserve-kit's conformance tests beside the given paths"
    )


def pytest_configure(config: pytest.Config) -> None:
    if not (config.rootpath / FACTS_FILE).is_file():
        return
    config.stash[SERVICE] = service = Service.load(config.rootpath)
    if config.args_source != pytest.Config.ArgsSource.ARGS or config.getoption("kserve_conformance"):
        config.args.extend(str(module) for module in conformance_modules(service))


SERVICE = pytest.StashKey[Service]()


def _service(config: pytest.Config) -> Service:
    if SERVICE not in config.stash:
        pytest.fail(f"kserve-kit's fixtures need a service repo: no {FACTS_FILE} in {config.rootpath}")
    return config.stash[SERVICE]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests taking `protocol` run once for each protocol the ServingRuntime declares."""
    if "protocol" in metafunc.fixturenames and SERVICE in metafunc.config.stash:
        metafunc.parametrize("protocol", metafunc.config.stash[SERVICE].protocols)


@pytest.fixture(scope="session")
def service(pytestconfig: pytest.Config) -> Service:
    return _service(pytestconfig)


@pytest.fixture(scope="session")
def sample(service: Service) -> dict[str, Any]:
    """sample.json: the request the smoke test sends, and the predictions it expects."""
    return json.loads(service.sample_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def model_dir(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `make train` produces (the service's own training/train.py), laid out as the model directory
    the server gets (/mnt/models)."""
    train = importlib.import_module("training.train").train
    directory = tmp_path_factory.mktemp("model")
    if service.server == "torchserve":
        from kserve_kit.torchserve import package_mar

        package_mar(service, train(directory / "weights"), directory / "model-store")
        (directory / "config").symlink_to(service.root / "config", target_is_directory=True)
        return directory
    return train(directory).parent


@pytest.fixture(scope="session")
def server(service: Service, model_dir: Path) -> Iterator[LocalServer]:
    with LocalServer(service, model_dir) as running:
        yield running
