"""Do the service's alerts and dashboard ask for what its server exports?

A query on a metric or label the server does not export is silent in Prometheus: the alert never
fires and the panel stays empty. `unexported` compares every selector in `monitoring/` (the
PrometheusRule's expressions, the Grafana dashboard's targets) with a scrape of the server's real
`/metrics`, taken after some traffic; the repo's own tests run it against the local server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

# Metrics of kube-state-metrics (pods, restarts): the cluster's, never the server's.
CLUSTER_METRIC_PREFIXES = ("kube_",)
# Labels Prometheus's Kubernetes discovery puts on every series it scrapes from a pod (the Prometheus
# Operator's PodMonitor and the community chart's kubernetes-pods job alike): the target's, never the
# server's. Queries scope metrics without a model label (vLLM's HTTP counter) to a service by them.
TARGET_LABELS = {"namespace", "pod"}
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
# What is left of an expression once strings, selectors with braces, clauses and ranges are taken out:
# a name not followed by "(" is a metric (`rate(x_total[5m])`), unless it is one of PromQL's words.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_CLAUSE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_BARE = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()")
_WORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on", "ignoring", "group_left",
          "group_right"}  # fmt: skip
# The text exposition format: `name{label="value",...} value`; a label value may hold any character.
_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?\s')
_EXPORTED_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')


def monitoring_queries(root: Path) -> list[str]:
    """Every PromQL expression in the repo's monitoring/ (alert rules and dashboard panels)."""
    rule_file, dashboard_file = (
        root / "monitoring" / "prometheus-rule.yaml",
        root / "monitoring" / "grafana-dashboard.json",
    )
    rules = yaml.safe_load(rule_file.read_text(encoding="utf-8"))
    dashboard = json.loads(dashboard_file.read_text(encoding="utf-8"))
    found = [rule["expr"] for group in rules["spec"]["groups"] for rule in group["rules"]]
    found += [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    return found


def selectors(expression: str) -> list[tuple[str, set[str]]]:
    """Each metric the expression selects, with the labels it filters or groups that metric by."""
    grouped = {
        label.strip() for labels in _GROUPING.findall(expression) for label in labels.split(",") if label.strip()
    }
    found = [(metric, set(_LABEL.findall(matchers)) | grouped) for metric, matchers in _SELECTOR.findall(expression)]
    rest = _RANGE.sub(" ", _CLAUSE.sub(" ", _SELECTOR.sub(" ", _STRING.sub(" ", expression))))
    found += [(metric, grouped) for metric in _BARE.findall(rest) if metric.lower() not in _WORDS]
    return found


def exported(exposition: str) -> tuple[dict[str, set[str]], set[str]]:
    """Series name -> the label names its samples carry, as the server wrote them (a parser would
    rename TorchServe's bare counter `Requests2XX` to `Requests2XX_total`, which Prometheus never
    stores); and the metric families declared, some with no sample yet (a 5xx counter before the
    first server error)."""
    samples: dict[str, set[str]] = {}
    families = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        elif sample := _SAMPLE.match(line):
            samples.setdefault(sample["name"], set()).update(_EXPORTED_LABEL.findall(sample["labels"] or ""))
    return samples, families


def unexported(exposition: str, expressions: list[str]) -> list[str]:
    """What the expressions ask for that the scrape does not have; [] when everything is there."""
    samples, families = exported(exposition)
    problems = []
    for expression in expressions:
        for metric, labels in selectors(expression):
            if metric.startswith(CLUSTER_METRIC_PREFIXES):
                continue
            if metric in samples:
                missing = labels - samples[metric] - TARGET_LABELS
                if missing:
                    problems.append(
                        f"{metric} has no label {', '.join(sorted(missing))} (it has {sorted(samples[metric])})"
                    )
            elif metric not in families and metric.removesuffix("_total") not in families:
                problems.append(f"{metric} is not exported by the server (in: {expression})")
    return problems


def answered(exposition: str, model: str, protocol: str) -> float:
    """The requests of `protocol` the server answered with 200 for `model`, by its request counter."""
    series = f'inference_requests_total{{code="200",model_name="{model}",protocol="{protocol}"}} '
    return sum(float(line.split()[-1]) for line in exposition.splitlines() if line.startswith(series))
