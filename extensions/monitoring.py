"""What a service's Prometheus alerts and Grafana dashboard ask, per model server.

Each model server exports its own metrics (KServe's Python server: the kit's request counter and
latency histogram beside KServe's own; TorchServe: its frontend counters), so the queries differ by
server, not by runtime. Pod health comes from kube-state-metrics, which every Prometheus on
Kubernetes runs. The rendered `monitoring/` files are built from these, once; the kit's tests scrape
each server's real `/metrics` and check that every name and label used here is exported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from extensions.modes import DeploymentMode
from kserve_kit.admission.releases import PROMETHEUS_SCRAPING_ANNOTATION as SCRAPING_ANNOTATION

WINDOW = "5m"


@dataclass(frozen=True)
class ServerMetrics:
    port: int | None  # where /metrics is served; None: the HTTP port
    requests: str  # inference requests per second (errors too)
    responses: str  # answers per second, counted where `server_errors` is (the error ratio's denominator)
    server_errors: str  # 5xx per second
    client_errors: str  # 4xx per second
    latency: str  # seconds
    latency_label: str  # what `latency` is, for alerts and panels
    model_latency: str | None = None  # the model's own time, where the server exports it
    model_latency_label: str = "model (predict)"


# {model}: the model's name (the InferenceService's); {pods}: a regex of the predictor's pod names.
VLLM_HTTP = (
    'sum(rate(http_requests_total{{{{namespace="{{namespace}}",pod=~"{{pods}}",handler=~"/v1/.*"{status}}}}}'
    "[{{window}}]))"
)
SERVERS: dict[str, ServerMetrics] = {
    "kserve": ServerMetrics(
        port=None,
        # The kit's own metrics (<package>/guards.py: RequestMetrics); KServe exports only the model's
        # time, and nothing for requests it refused.
        requests='sum(rate(inference_requests_total{{model_name="{model}"}}[{window}]))',
        responses='sum(rate(inference_requests_total{{model_name="{model}"}}[{window}]))',
        server_errors='sum(rate(inference_requests_total{{model_name="{model}",code=~"5.."}}[{window}]))',
        client_errors='sum(rate(inference_requests_total{{model_name="{model}",code=~"4.."}}[{window}]))',
        latency=(
            "histogram_quantile(0.95, sum by (le) "
            '(rate(inference_request_duration_seconds_bucket{{model_name="{model}"}}[{window}])))'
        ),
        latency_label="p95 latency",
        model_latency=(  # KServe's own: the time predict() takes
            "histogram_quantile(0.95, sum by (le) "
            '(rate(request_predict_seconds_bucket{{model_name="{model}"}}[{window}])))'
        ),
    ),
    "torchserve": ServerMetrics(
        port=8082,  # config.properties: metrics_address, metrics_mode=prometheus
        requests='sum(rate(ts_inference_requests_total{{model_name="{model}"}}[{window}]))',
        # TorchServe counts responses per pod (Hostname), not per model, and of every API (/ping too): one
        # model per pod here. A counter has no series before its first count, hence `or vector(0)`.
        responses=" + ".join(
            f'(sum(rate(Requests{code}XX{{{{Hostname=~"{{pods}}"}}}}[{{window}}])) or vector(0))' for code in (2, 4, 5)
        ),
        server_errors='sum(rate(Requests5XX{{Hostname=~"{pods}"}}[{window}]))',
        client_errors='sum(rate(Requests4XX{{Hostname=~"{pods}"}}[{window}]))',
        # TorchServe exports latency as a counter of microseconds, not a histogram: the mean.
        latency=(
            'sum(rate(ts_inference_latency_microseconds{{model_name="{model}"}}[{window}])) / '
            'sum(rate(ts_inference_requests_total{{model_name="{model}"}}[{window}])) / 1e6'
        ),
        latency_label="mean latency",
    ),
    "vllm": ServerMetrics(
        port=None,
        # vLLM's OpenAI server counts HTTP requests with prometheus-fastapi-instrumentator, by handler and
        # grouped status ("2xx", "4xx", "5xx"), with no model label: the pod's own, from Prometheus's
        # Kubernetes discovery (kserve_kit/metrics.py TARGET_LABELS), scopes them to this service.
        requests=VLLM_HTTP.format(status=""),
        responses=VLLM_HTTP.format(status=""),
        server_errors=VLLM_HTTP.format(status=',status="5xx"'),
        client_errors=VLLM_HTTP.format(status=',status="4xx"'),
        # What an LLM's users wait for first: the time to the first token (vLLM's V1 engine, by model).
        latency=(
            "histogram_quantile(0.95, sum by (le) "
            '(rate(vllm:time_to_first_token_seconds_bucket{{model_name="{model}"}}[{window}])))'
        ),
        latency_label="p95 time to first token",
        model_latency=(  # the whole request, to its last token
            "histogram_quantile(0.95, sum by (le) "
            '(rate(vllm:e2e_request_latency_seconds_bucket{{model_name="{model}"}}[{window}])))'
        ),
        model_latency_label="whole request",
    ),
}
# kube-state-metrics (not the server): restarts and readiness of the predictor's pods.
POD_RESTARTS = 'sum(increase(kube_pod_container_status_restarts_total{{namespace="{namespace}",pod=~"{pods}"}}[15m]))'
# Pods that run (or start) and are not ready: a Failed or Evicted pod left behind is not "not ready".
POD_NOT_READY = (
    'max(kube_pod_status_ready{{namespace="{namespace}",pod=~"{pods}",condition="false"}} '
    "and on (namespace, pod) "
    'kube_pod_status_phase{{namespace="{namespace}",pod=~"{pods}",phase=~"Pending|Running"}} == 1)'
)


def scrape_annotations(mode: DeploymentMode, port: int, monitored: bool) -> tuple[dict[str, str], dict[str, str]]:
    """The InferenceService's and the pod's (ServingRuntime `spec.annotations`) annotations that get
    the server's `/metrics` on `port` scraped. KServe sets `prometheus.io/port` and `path` itself
    only behind Knative's queue-proxy, and never `prometheus.io/scrape` (kserve/website#315)."""
    pod = {
        "prometheus.io/scrape": "true",
        "prometheus.kserve.io/port": str(port),
        "prometheus.kserve.io/path": "/metrics",
    }
    if not mode.queue_proxy:
        # Standard mode: Prometheus scrapes the server's own port. Where the cluster sets
        # metricsAggregator.enablePrometheusScraping, KServe's pod mutator would rewrite prometheus.io/port
        # to a queue-proxy port these pods do not have (pkg/webhook/admission/pod/metrics_aggregate_injector.go,
        # v0.15.2-v0.17.0): the annotation, which wins over the cluster's setting, keeps it off, monitored or not.
        isvc = {SCRAPING_ANNOTATION: "false"}
        return isvc, (pod | {"prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}) if monitored else {}
    if not monitored:
        return {}, {}
    # Knative: the queue-proxy serves the pod's metrics; aggregation adds the server's to its own.
    isvc = {
        SCRAPING_ANNOTATION: "true",
        "serving.kserve.io/enable-metric-aggregation": "true",
    }
    return isvc, pod


def queries(server: str, name: str, namespace: str) -> dict[str, str]:
    """Every query of the service's alerts and dashboard, by purpose."""
    metrics = SERVERS[server]
    values = {"model": name, "namespace": namespace, "pods": f"{name}-predictor-.*", "window": WINDOW}
    found = {
        "requests": metrics.requests,
        "responses": metrics.responses,
        "server_errors": metrics.server_errors,
        "client_errors": metrics.client_errors,
        "latency": metrics.latency,
        "model_latency": metrics.model_latency,
        "restarts": POD_RESTARTS,
        "not_ready": POD_NOT_READY,
    }
    built = {purpose: query.format(**values) for purpose, query in found.items() if query}
    return built | {"error_ratio": f"({built['server_errors']}) / ({built['responses']})"}


def alert_rules(server: str, answers: dict[str, Any], restarts: int) -> list[dict[str, Any]]:
    """The PrometheusRule's alerts: error ratio, latency over the answer's threshold, not ready, restarts."""
    name, namespace = answers["service_name"], answers["namespace"]
    query, metrics = queries(server, name, namespace), SERVERS[server]
    prefix = "".join(part.capitalize() for part in name.split("-"))
    ratio = int(answers["alert_error_ratio_percent"]) / 100
    latency_s = int(answers["alert_latency_ms"]) / 1000
    labels = {"severity": "warning", "team": answers["owner"], "service": name, "namespace": namespace}
    diagnose = f"Run `make doctor` in the service repo, or `kserve-kit doctor --name {name} --namespace {namespace}`."
    rules = [
        (f"{prefix}HighErrorRatio", f"{query['error_ratio']} > {ratio:g}", "5m",
         f"{name}: more than {ratio:.0%} of requests fail with a server error (5xx)"),
        (f"{prefix}HighLatency", f"{query['latency']} > {latency_s:g}", "10m",
         f"{name}: {metrics.latency_label} above {answers['alert_latency_ms']} ms"),
        (f"{prefix}NotReady", f"{query['not_ready']} == 1", "10m",
         f"{name}: a predictor pod has not been ready for 10 minutes"),
        (f"{prefix}Restarting", f"{query['restarts']} > {restarts}", "0m",
         f"{name}: predictor containers restarted more than {restarts} times in 15 minutes"),
    ]  # fmt: skip
    return [
        {"alert": alert, "expr": expr, "for": wait, "labels": dict(labels),
         "annotations": {"summary": summary, "description": diagnose}}
        for alert, expr, wait, summary in rules
    ]  # fmt: skip


def dashboard(server: str, answers: dict[str, Any]) -> dict[str, Any]:
    """A Grafana dashboard (JSON model) of the service: traffic, errors, latency, pods."""
    name, namespace = answers["service_name"], answers["namespace"]
    query, metrics = queries(server, name, namespace), SERVERS[server]
    latency_s = int(answers["alert_latency_ms"]) / 1000
    ratio = int(answers["alert_error_ratio_percent"]) / 100
    panels = [
        ("Requests per second", [("requests", "all"), ("client_errors", "4xx"), ("server_errors", "5xx")], "reqps",
         None),
        ("Server error ratio", [("error_ratio", "5xx / all")], "percentunit", ratio),
        (metrics.latency_label.capitalize(),
         [("latency", "request"), ("model_latency", metrics.model_latency_label)], "s", latency_s),
        ("Predictor pods", [("not_ready", "not ready"), ("restarts", "restarts (15m)")], "short", None),
    ]  # fmt: skip
    built = []
    for index, (title, series, unit, threshold) in enumerate(panels):
        targets = [
            {"refId": chr(ord("A") + number), "expr": query[purpose], "legendFormat": legend,
             "datasource": {"type": "prometheus", "uid": "${datasource}"}}
            for number, (purpose, legend) in enumerate(series)
            if purpose in query  # the model's own latency: where the server exports it
        ]  # fmt: skip
        defaults: dict[str, Any] = {"unit": unit}
        if threshold is not None:  # the alert's threshold, drawn as a red line
            steps = [{"color": "green", "value": None}, {"color": "red", "value": threshold}]
            defaults |= {
                "thresholds": {"mode": "absolute", "steps": steps},
                "custom": {"thresholdsStyle": {"mode": "line"}},
            }
        built.append({
            "id": index + 1, "type": "timeseries", "title": title, "targets": targets,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"x": 12 * (index % 2), "y": 8 * (index // 2), "w": 12, "h": 8},
            "fieldConfig": {"defaults": defaults, "overrides": []},
        })  # fmt: skip
    return {
        "title": f"{name} ({namespace})",
        # Grafana's uid: at most 40 characters, unique per service (a hash where the names are long).
        "uid": uid
        if len(uid := f"kserve-{namespace}-{name}") <= 40
        else f"{uid[:31]}-{hashlib.sha1(uid.encode()).hexdigest()[:8]}",
        "tags": ["kserve", "kserve-template", answers["owner"]],
        "timezone": "browser",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"}]
        },
        "panels": built,
    }
