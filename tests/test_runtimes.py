"""Runtimes complete or loud: every entry of extensions/runtimes.py has its files, its README text
and its base images in every profile, and the literals that must repeat across files agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extensions.profile import available_platforms, load_profile
from extensions.runtimes import RUNTIMES, TORCH
from extensions.validation import missing_base_images, platform_error
from kserve_kit.serving.artifacts import JOBLIB_FILE, WEIGHTS_FILE
from tests.conftest import KIT_ROOT, Render, answers_of, load_manifest

TEMPLATE = KIT_ROOT / "template"


def conditional_files(runtime: str) -> list[Path]:
    """Template files rendered only for `runtime` (by its name or its model format)."""
    entry = RUNTIMES[runtime]
    conditions = (f"runtime == '{runtime}'", f"kit.runtime.model_format == '{entry.model_format}'",
                  f"kit.runtime.server == '{entry.server}'")  # fmt: skip
    return [path for path in TEMPLATE.rglob("*.jinja") if any(condition in path.name for condition in conditions)]


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_each_runtime_has_its_model_training_and_sample(runtime: str) -> None:
    names = {re.sub(r"\{%.*?%\}", "", path.name).removesuffix(".jinja") for path in conditional_files(runtime)}
    entry = RUNTIMES[runtime]
    assert "sample.json" in names, names
    if not entry.builds_image:  # the platform's image serves the owner's model from storage: nothing to train
        assert not entry.train and not entry.artifacts and not entry.dependencies, runtime
        return
    assert {"train.py", "test_model.py"} <= names, names
    if entry.server == "kserve":
        assert f"{entry.model_module}.py" in names and "__main__.py" in names, names
        assert entry.model_class, f"{runtime}: a KServe Python server runtime names its model class"


@pytest.mark.parametrize("platform", available_platforms())
def test_every_profile_has_every_runtimes_base_images(platform: str) -> None:
    assert missing_base_images(load_profile(platform)) == []
    assert platform_error(platform) == ""


def test_a_profile_without_a_runtimes_image_is_named() -> None:
    profile = load_profile("agora")
    images = {name: dict(kinds) for name, kinds in profile["base_images"].items()}
    del images["pytorch"]["gpu"], images["sklearn"]
    assert missing_base_images({**profile, "base_images": images}) == ["sklearn.cpu", "pytorch.gpu"]


@pytest.mark.parametrize("platform", available_platforms())
def test_gpu_images_carry_the_kits_torch_and_torchserve(platform: str) -> None:
    """The CUDA image's torch is the one the service pins (extensions/runtimes.py TORCH): the image
    tag and the pin are written in two places, tied here."""
    images = load_profile(platform)["base_images"]
    torch_version = TORCH.split("==")[1]
    assert f":{torch_version}-" in images["pytorch"]["gpu"], images["pytorch"]["gpu"]
    torchserve = next(d for d in RUNTIMES["torchserve"].dependencies if d.startswith("torchserve=="))
    series = torchserve.split("==")[1].rstrip(".*")
    assert all(f":{series}." in images["torchserve"][kind] for kind in ("cpu", "gpu")), images["torchserve"]


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_each_runtimes_readme_says_only_its_own(render: Render, runtime: str) -> None:
    """No runtime falls through to another's text: each README's "Your model" section names its own
    files and none of another runtime's."""
    readme = (render(runtime=runtime) / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your model", 1)[1].split("\n## ", 1)[0]
    own = {"sklearn": "model/model.joblib", "pytorch": "Batching happens inside the server", "torchserve": "handler.py",
           "embeddings": "/openai/v1/embeddings", "text-generation": "/openai/v1/chat/completions",
           "vllm": "--max-model-len"}  # fmt: skip
    assert own[runtime] in section
    assert [text for text in own.values() if text in section] == [own[runtime]]
    assert answers_of(render(runtime=runtime))["runtime"] == runtime


@pytest.mark.parametrize(
    ("runtime", "gpu", "requests"),
    [
        ("sklearn", False, ("500m", "512Mi")),
        ("embeddings", False, ("500m", "512Mi")),
        ("embeddings", True, ("1", "4Gi")),  # the CUDA libraries' 2-3 GiB
        ("text-generation", True, ("1", "4Gi")),
        ("vllm", True, ("4", "16Gi")),  # its API server, engine and tokenizer; its scheduler's memory
    ],
)
def test_the_wizards_resources_fit_the_runtime_on_the_cpu_or_a_gpu(
    render: Render, runtime: str, gpu: bool, requests: tuple[str, str]
) -> None:
    model = load_manifest(render(runtime=runtime, gpu=gpu), "inference-service.yaml")["spec"]["predictor"]["model"]
    rendered = model["resources"]["requests"]
    assert (rendered["cpu"], rendered["memory"]) == requests
    assert model["resources"]["limits"]["memory"] == (requests[1] if gpu else "1Gi")  # at least the request, 1Gi


def test_the_model_files_have_one_name_each() -> None:
    """`model.joblib` and `model.pt` are written by training, loaded by the server and packed by
    `kserve-kit mar`: each from kserve_kit/serving/artifacts.py, never spelled again in code."""
    for path in [*KIT_ROOT.glob("kserve_kit/**/*.py"), *TEMPLATE.rglob("*.py.jinja")]:
        if path.name == "artifacts.py":
            continue
        code = "\n".join(
            line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#")
        )
        for name in (JOBLIB_FILE, WEIGHTS_FILE):
            assert f'"{name}"' not in code and f"'{name}'" not in code, (path, name)
