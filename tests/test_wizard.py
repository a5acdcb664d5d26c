"""`copier copy` answered interactively in a pseudo-terminal (pexpect), as a new owner would, with
ordinary non-default answers: no traceback, no lost answer, and each refusal readable in full in an
80-column terminal."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from extensions.runtimes import RUNTIMES
from tests.conftest import KIT_ROOT, answers_of, load_manifest

pytestmark = pytest.mark.e2e

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
CLEAR_LINE = "\x15"  # Ctrl-U: the prompt comes pre-filled with the default


def screen(child: pexpect.spawn) -> str:
    return ANSI.sub("", child.before or "")


@pytest.fixture
def wizard(tmp_path: Path) -> pexpect.spawn:
    copier = str(Path(sys.executable).with_name("copier"))
    child = pexpect.spawn(
        copier, ["copy", "--trust", "--vcs-ref", "HEAD", str(KIT_ROOT), str(tmp_path / "svc")],
        encoding="utf-8", timeout=30, dimensions=(40, 80), env={"TERM": "xterm", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    yield child
    child.close(force=True)


def answer(child: pexpect.spawn, prompt: str, value: str | None = None) -> None:
    """Wait for the question whose help holds `prompt`, then keep its default or type `value`."""
    child.expect(re.escape(prompt))
    child.send("\r" if value is None else CLEAR_LINE + value + "\r")


def test_non_default_answers_and_a_refusal_in_the_wizard(wizard: pexpect.spawn, tmp_path: Path) -> None:
    answer(wizard, "Platform profile")
    answer(wizard, "Service name", "text-classifier")
    # A namespace that overflows the 63-character URL label: refused with the whole message on one
    # 80-column line, then a shorter one is taken.
    answer(wizard, "namespace to deploy into", "a-namespace-far-too-long-for-the-hostname-budget")
    wizard.expect(pexpect.TIMEOUT, timeout=3)  # let the refusal be drawn
    shown = " ".join(screen(wizard).split())
    assert "Namespace 18 too long: the external host label would be 81 of 63 characters" in shown, shown[-500:]
    wizard.send(CLEAR_LINE + "nlp\r")
    answer(wizard, "Owning team", "nlp-team")
    answer(wizard, "One sentence")
    answer(wizard, "Cluster environment")
    answer(wizard, "Model server")
    answer(wizard, "inference protocol")
    answer(wizard, "CPU request", "2")
    answer(wizard, "CPU limit")  # its default follows the request: 2, not the usual 1
    answer(wizard, "Memory request", "2Gi")
    answer(wizard, "Memory limit")
    answer(wizard, "the most requests answered by one model call")
    answer(wizard, "Minimum replicas", "4")
    answer(wizard, "Maximum replicas")
    answer(wizard, "What Knative's autoscaler keeps at the target")
    answer(wizard, "Target per replica", "5")
    answer(wizard, "before Knative removes a replica", "5m")
    answer(wizard, "Where the deployed model comes from")
    answer(wizard, "Model location")
    answer(wizard, "Image repository")
    answer(wizard, "Pull secret")
    answer(wizard, "Inject the storage's credentials from Vault")
    answer(wizard, "Vault Kubernetes-auth role")
    answer(wizard, "Vault KV path")
    answer(wizard, "Who can reach the service")
    answer(wizard, "Prometheus scraping of the server's metrics")
    answer(wizard, "Alert when latency stays above", "800")
    answer(wizard, "Alert when more than this percentage")
    wizard.expect(pexpect.EOF, timeout=120)
    output = screen(wizard)
    assert "Traceback" not in output, output[-3000:]
    wizard.close()
    assert wizard.exitstatus == 0, output[-3000:]

    service = tmp_path / "svc"
    answers = answers_of(service)
    assert (answers["service_name"], answers["namespace"], answers["owner"]) == ("text-classifier", "nlp", "nlp-team")
    assert (answers["cpu_request"], answers["cpu_limit"]) == ("2", "2")
    assert (answers["memory_request"], answers["memory_limit"]) == ("2Gi", "2Gi")
    predictor = load_manifest(service, "inference-service.yaml")["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (4, 4)
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("concurrency", 5)
    isvc = load_manifest(service, "inference-service.yaml")["metadata"]
    assert isvc["annotations"]["autoscaling.knative.dev/scale-down-delay"] == "5m"
    rules = yaml.safe_load((service / "monitoring" / "prometheus-rule.yaml").read_text(encoding="utf-8"))
    assert "> 0.8" in rules["spec"]["groups"][0]["rules"][1]["expr"]  # the latency threshold, in seconds
    assert predictor["model"]["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}


def test_each_help_shows_whole_in_an_80_column_terminal(wizard: pexpect.spawn) -> None:
    """questionary cuts a prompt's message at the terminal's width: the kit wraps each help instead."""
    seen = []
    for prompt, value in (("Platform profile", None), ("Service name", None), ("namespace to deploy into", "nlp")):
        answer(wizard, prompt, value)
        wizard.expect(pexpect.TIMEOUT, timeout=1)
        seen.append(" ".join(screen(wizard).split()))
    text = " ".join(seen)
    assert "(lower-case letters, digits and '-', starts with a letter)" in text, text[-800:]
    assert "the wizard names any that overflows" in text, text[-800:]


DOWN = "\x1b[B"  # a select question's next choice


def choose(child: pexpect.spawn, prompt: str, steps: int) -> None:
    """Wait for the select question whose help holds `prompt`, move `steps` choices down, take it."""
    child.expect(re.escape(prompt))
    child.send(DOWN * steps + "\r")


def test_an_llm_from_hugging_faces_hub_with_its_token_from_vault_in_the_wizard(
    wizard: pexpect.spawn, tmp_path: Path
) -> None:
    """vLLM (the fifth runtime) with its model from hf://: a GPU is the default and the only answer,
    the resources default to what vLLM needs, no protocol, image or batching question, and the Vault
    question covers the Hugging Face token."""
    for prompt in ("Platform profile", "Service name", "namespace to deploy into", "Owning team", "One sentence",
                   "Cluster environment"):  # fmt: skip
        answer(wizard, prompt)
    choose(wizard, "Model server", list(RUNTIMES).index("vllm"))
    answer(wizard, "Run on a GPU")
    for prompt in ("CPU request", "CPU limit", "Memory request", "Memory limit", "Minimum replicas",
                   "Maximum replicas", "What Knative's autoscaler keeps at the target", "Target per replica",
                   "before Knative removes a replica"):  # fmt: skip
        answer(wizard, prompt)
    choose(wizard, "Where the deployed model comes from", 2)  # hf
    answer(wizard, "Model location", "hf://my-org/my-llm:main")
    answer(wizard, "Inject the storage's credentials from Vault", "y")
    for prompt in ("Vault Kubernetes-auth role", "Vault KV path", "Who can reach the service",
                   "Prometheus scraping of the server's metrics", "Alert when latency stays above",
                   "Alert when more than this percentage"):  # fmt: skip
        answer(wizard, prompt)
    wizard.expect(pexpect.EOF, timeout=120)
    output = screen(wizard)
    assert "Traceback" not in output and "inference protocol" not in output, output[-3000:]
    assert "Image repository" not in output and "most requests answered by one model call" not in output
    wizard.close()
    assert wizard.exitstatus == 0, output[-3000:]

    service = tmp_path / "svc"
    answers = answers_of(service)
    chosen = (answers["runtime"], answers["gpu"], answers["model_storage"], answers["vault"])
    assert chosen == ("vllm", True, "hf", True)
    assert (answers["cpu_request"], answers["memory_request"]) == ("4", "16Gi")
    isvc = load_manifest(service, "inference-service.yaml")
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "hf://my-org/my-llm:main"
    runtime = (service / "k8s" / "serving-runtime.yaml").read_text(encoding="utf-8")
    assert "vault.hashicorp.com/agent-inject-secret-hf-token: secret/data/kserve-test/iris-classifier/hf" in runtime
    assert not (service / "Dockerfile").exists()
