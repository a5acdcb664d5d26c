"""monitoring/: the alert rules pass Prometheus' own checker and fire on the series they watch, the
dashboard shows the same queries, and the pods carry the scraping annotations of their mode.

Whether every metric and label the queries use is exported is checked by each rendered repo's own
test against its real server (template/tests/test_server.py; tests/test_owner.py runs them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kserve_kit.conformance.plugin import conformance_modules
from kserve_kit.service import Service
from tests.conftest import Render, load_manifest

RUNTIMES = {
    "sklearn": {},
    "torchserve": {"runtime": "torchserve"},
    "pytorch-standard": {"runtime": "pytorch", "platform": "example-standard"},
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: `apt-get install prometheus` (Debian), as .ci/run does")
    return found


def rule_groups(repo: Path, tmp_path: Path) -> Path:
    """The PrometheusRule's groups as the plain rule file promtool reads."""
    rule = yaml.safe_load((repo / "monitoring" / "prometheus-rule.yaml").read_text(encoding="utf-8"))
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(RUNTIMES))
def test_promtool_accepts_the_alert_rules(render: Render, tmp_path: Path, name: str) -> None:
    result = subprocess.run([promtool(), "check", "rules", str(rule_groups(render(**RUNTIMES[name]), tmp_path))],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


POD = "iris-classifier-predictor-00001-deployment-7d9f8"
V1 = 'model_name="iris-classifier",protocol="v1"'
ON_POD = f'namespace="kserve-test",pod="{POD}"'
OLD_POD = 'namespace="kserve-test",pod="iris-classifier-predictor-00001-deployment-0ld"'
# Series as the server and kube-state-metrics would export them, over 20 minutes (promtool notation).
SERIES = {
    "kserve": [
        {
            "series": f'inference_requests_total{{{V1},code="200"}}',
            "values": "0+60x20",
        },
        {
            "series": f'inference_requests_total{{{V1},code="500"}}',
            "values": "0+30x20",
        },
        # Every request takes between 1 and 2.5 s: the p95 is well over 500 ms.
        *(
            {
                "series": f'inference_request_duration_seconds_bucket{{{V1},le="{le}"}}',
                "values": "0+0x20" if float(le) < 1 else "0+90x20",
            }
            for le in ("0.5", "1.0", "2.5", "+Inf")
        ),
    ],  # fmt: skip
    "torchserve": [
        {
            "series": 'ts_inference_requests_total{model_name="iris-classifier",model_version="default"}',
            "values": "0+90x20",
        },
        {"series": f'Requests2XX{{Level="Host",Hostname="{POD}"}}', "values": "0+60x20"},
        {"series": f'Requests5XX{{Level="Host",Hostname="{POD}"}}', "values": "0+30x20"},
        # 90 requests a minute taking 1.2 s each: 108 s of latency per minute.
        {
            "series": 'ts_inference_latency_microseconds{model_name="iris-classifier",model_version="default"}',
            "values": "0+108000000x20",
        },
    ],  # fmt: skip
}
POD_SERIES = [
    {"series": f'kube_pod_status_ready{{{ON_POD},condition="false"}}', "values": "1x20"},
    {"series": f'kube_pod_status_phase{{{ON_POD},phase="Running"}}', "values": "1x20"},
    {"series": f"kube_pod_container_status_restarts_total{{{ON_POD}}}", "values": "0+1x20"},
]


@pytest.mark.parametrize("server", list(SERIES))
def test_each_alert_fires_on_what_it_watches(render: Render, tmp_path: Path, server: str) -> None:
    """promtool's rule unit tests: errors, latency, a pod not ready and restarts make their alert fire."""
    repo = render(runtime="sklearn" if server == "kserve" else "torchserve")
    rules = rule_groups(repo, tmp_path)
    alerts = [rule for group in yaml.safe_load(rules.read_text())["groups"] for rule in group["rules"]]
    assert sorted(rule["alert"].removeprefix("IrisClassifier") for rule in alerts) == [
        "HighErrorRatio", "HighLatency", "NotReady", "Restarting"]  # fmt: skip
    owner = {"severity": "warning", "team": "ml-team", "service": "iris-classifier", "namespace": "kserve-test"}
    assert all(rule["labels"] == owner for rule in alerts)
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": SERIES[server] + POD_SERIES,
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": rule["alert"],
                 "exp_alerts": [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]}
                for rule in alerts
            ],
        }],
    }  # fmt: skip
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(test), encoding="utf-8")
    result = subprocess.run([promtool(), "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_quiet_series_fire_nothing(render: Render, tmp_path: Path) -> None:
    rules = rule_groups(render(), tmp_path)
    names = [rule["alert"] for group in yaml.safe_load(rules.read_text())["groups"] for rule in group["rules"]]
    quiet = [
        {"series": f'inference_requests_total{{{V1},code="200"}}', "values": "0+60x20"},
        *({"series": f'inference_request_duration_seconds_bucket{{{V1},le="{le}"}}',
           "values": "0+60x20"} for le in ("0.05", "+Inf")),
        # A pod that failed and was left behind is not ready, but no longer runs: not an alert.
        {"series": f'kube_pod_status_ready{{{OLD_POD},condition="false"}}', "values": "1x20"},
        {"series": f'kube_pod_status_phase{{{OLD_POD},phase="Failed"}}', "values": "1x20"},
        {"series": f'kube_pod_container_status_restarts_total{{{ON_POD}}}', "values": "0x20"},
    ]  # fmt: skip
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": quiet,
        "alert_rule_test": [{"eval_time": "20m", "alertname": name, "exp_alerts": []} for name in names]}]}  # fmt: skip
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(test), encoding="utf-8")
    result = subprocess.run([promtool(), "test", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", list(RUNTIMES))
def test_the_dashboard_draws_the_alerts_queries_and_thresholds(render: Render, name: str) -> None:
    repo = render(**RUNTIMES[name])
    dashboard = json.loads((repo / "monitoring" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    rules = yaml.safe_load((repo / "monitoring" / "prometheus-rule.yaml").read_text(encoding="utf-8"))
    assert dashboard["templating"]["list"][0]["type"] == "datasource"
    exprs = {target["expr"] for panel in dashboard["panels"] for target in panel["targets"]}
    assert all(panel["targets"] for panel in dashboard["panels"])
    for rule in rules["spec"]["groups"][0]["rules"]:
        watched = rule["expr"].rsplit(" > ", 1)[0].rsplit(" == ", 1)[0]
        assert watched in exprs, f"{rule['alert']}: {watched} is on no panel"
    thresholds = {panel["title"]: panel["fieldConfig"]["defaults"].get("thresholds") for panel in dashboard["panels"]}
    assert thresholds["Server error ratio"]["steps"][1]["value"] == 0.05
    assert any(steps and steps["steps"][1]["value"] == 0.5 for steps in thresholds.values())  # 500 ms


def test_scraping_annotations_follow_the_mode_and_the_server(render: Render) -> None:
    knative = render()
    isvc = load_manifest(knative, "inference-service.yaml")["metadata"]["annotations"]
    assert isvc["serving.kserve.io/enable-prometheus-scraping"] == "true"
    assert isvc["serving.kserve.io/enable-metric-aggregation"] == "true"  # the server's metrics, not only Knative's
    pod = load_manifest(knative, "serving-runtime.yaml")["spec"]["annotations"]
    assert (pod["prometheus.kserve.io/port"], pod["prometheus.io/scrape"]) == ("8080", "true")
    torchserve = load_manifest(render(runtime="torchserve"), "serving-runtime.yaml")["spec"]["annotations"]
    assert torchserve["prometheus.kserve.io/port"] == "8082"
    standard = render(platform="example-standard")
    # KServe's pod mutator would point prometheus.io/port at a queue-proxy port Standard pods lack
    # wherever the cluster turns scraping on (example-standard does): the annotation keeps it off.
    assert load_manifest(standard, "inference-service.yaml")["metadata"]["annotations"][
        "serving.kserve.io/enable-prometheus-scraping"] == "false"  # fmt: skip
    pod = load_manifest(standard, "serving-runtime.yaml")["spec"]["annotations"]
    assert (pod["prometheus.io/port"], pod["prometheus.io/path"]) == ("8080", "/metrics")  # no queue-proxy


def test_without_monitoring_there_is_nothing_to_scrape_or_apply(render: Render) -> None:
    repo = render(monitoring=False)
    assert not (repo / "monitoring").exists()
    assert "prometheus" not in (repo / "k8s" / "serving-runtime.yaml").read_text(encoding="utf-8")
    assert "prometheus" not in (repo / "k8s" / "inference-service.yaml").read_text(encoding="utf-8")
    assert "\nmonitoring:" not in (repo / "kit.mk").read_text(encoding="utf-8")
    # The conformance plugin checks alerts against a scrape only where there are alerts.
    assert "test_monitoring.py" not in {path.name for path in conformance_modules(Service.load(repo))}
    assert "test_monitoring.py" in {path.name for path in conformance_modules(Service.load(render()))}
