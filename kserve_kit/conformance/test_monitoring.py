"""monitoring/ asks Prometheus for metric names and labels: a name the server does not export would
leave an alert that never fires. Checked against a real scrape of the service's server, after traffic."""

from __future__ import annotations

import httpx

from kserve_kit.local_server import LocalServer
from kserve_kit.metrics import monitoring_queries, unexported
from kserve_kit.service import Service
from kserve_kit.smoke import Sample, SmokeClient, Target, run_load


def test_the_alerts_and_dashboard_query_only_what_the_server_exports(server: LocalServer, service: Service) -> None:
    client = SmokeClient(Target(server.url), service, service.protocol)
    run_load(client, Sample.load(service.sample_path), requests=10, concurrency=2)
    httpx.post(server.url + f"/v1/models/{service.name}:predict", json={"instances": "x"}, timeout=30)  # a 400
    if service.server == "kserve":
        httpx.post(server.url + "/v1/models/no-such-model:predict", json={"instances": [[1]]}, timeout=30)  # a 404
    scrape = httpx.get(server.metrics_url, timeout=30)
    assert scrape.status_code == 200, scrape.text[:200]
    assert unexported(scrape.text, monitoring_queries(service.root)) == []
    if service.server == "kserve":
        # Names from URLs are not labels: a client cannot create series without end.
        assert 'model_name="no-such-model"' not in scrape.text and 'model_name="unknown"' in scrape.text
