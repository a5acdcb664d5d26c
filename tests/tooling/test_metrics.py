"""kserve_kit.metrics: the queries' selectors against a scrape (the rendered repos' own tests run it
against their real servers; these are its rules)."""

from __future__ import annotations

from kserve_kit.metrics import selectors, unexported

# As KServe's server (with the kit's RequestMetrics) and TorchServe write them.
SCRAPE = """\
# HELP inference_requests_total Inference requests answered
# TYPE inference_requests_total counter
inference_requests_total{code="200",model_name="m",protocol="v1"} 3.0
# HELP inference_request_duration_seconds Time to answer
# TYPE inference_request_duration_seconds histogram
inference_request_duration_seconds_bucket{le="0.5",model_name="m",protocol="v1"} 3.0
inference_request_duration_seconds_bucket{le="+Inf",model_name="m",protocol="v1"} 3.0
inference_request_duration_seconds_count{model_name="m",protocol="v1"} 3.0
inference_request_duration_seconds_sum{model_name="m",protocol="v1"} 0.1
# HELP Requests2XX Torchserve prometheus counter metric with unit: Count
# TYPE Requests2XX counter
Requests2XX{Level="Host",Hostname="vm",} 5.0
# HELP Requests5XX Torchserve prometheus counter metric with unit: Count
# TYPE Requests5XX counter
"""


def test_selectors_carry_their_matchers_and_grouping() -> None:
    expression = 'histogram_quantile(0.95, sum by (le) (rate(x_bucket{model_name="m",code=~"5.."}[5m])))'
    assert selectors(expression) == [("x_bucket", {"model_name", "code", "le"})]


def test_a_metric_without_braces_is_a_selector_too() -> None:
    expression = "sum by (le) (rate(x_bucket[5m])) / on (pod) group_left up offset 5m > bool 1e6 or vector(0)"
    assert selectors(expression) == [("x_bucket", {"le"}), ("up", {"le"})]
    assert unexported(SCRAPE, ["rate(nope_total[5m])"]) == [
        "nope_total is not exported by the server (in: rate(nope_total[5m]))"
    ]


def test_what_the_scrape_has_passes() -> None:
    assert unexported(SCRAPE, [
        'sum(rate(inference_requests_total{model_name="m",code=~"5.."}[5m]))',
        'histogram_quantile(0.95, sum by (le) (rate(inference_request_duration_seconds_bucket{model_name="m"}[5m])))',
        'sum(rate(Requests2XX{Hostname=~"m-predictor-.*"}[5m]))',  # the bare name TorchServe writes
        'sum(rate(Requests5XX{Hostname=~"m-predictor-.*"}[5m]))',  # declared, no sample before a 5xx
        'max(kube_pod_status_ready{namespace="n",condition="false"})',  # kube-state-metrics, not the server
    ]) == []  # fmt: skip


def test_a_wrong_name_or_label_is_named() -> None:
    problems = unexported(SCRAPE, [
        'sum(rate(inference_requests{model_name="m"}[5m]))',
        'sum(rate(inference_requests_total{model="m"}[5m]))',
        'sum by (container_name) (rate(Requests2XX{Hostname=~"x"}[5m]))',
    ])  # fmt: skip
    assert problems[0].startswith("inference_requests is not exported")
    assert problems[1].startswith("inference_requests_total has no label model ")
    assert problems[2].startswith("Requests2XX has no label container_name ")
    assert len(problems) == 3


def test_the_labels_prometheus_adds_to_a_pods_series_are_not_asked_of_the_server() -> None:
    """Prometheus's Kubernetes discovery puts `namespace` and `pod` on every series it scrapes: a query
    may scope by them (vLLM's HTTP counter has no model label); any other label must be the server's."""
    assert unexported(SCRAPE, ['sum by (pod) (rate(Requests2XX{namespace="n",pod=~"m-.*"}[5m]))']) == []
    assert unexported(SCRAPE, ['sum(rate(Requests2XX{kubernetes_pod_name=~"m-.*"}[5m]))']) != []
