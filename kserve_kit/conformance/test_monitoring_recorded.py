"""monitoring/ of a server that does not run here (vLLM, on a GPU) asks only for what that server
exports, checked against a recorded scrape of it (kserve_kit/conformance/scrapes/): a name or label it
does not export would leave an alert that never fires."""

from __future__ import annotations

from pathlib import Path

from kserve_kit.metrics import monitoring_queries, unexported
from kserve_kit.service import Service

SCRAPES = Path(__file__).parent / "scrapes"


def test_the_alerts_and_dashboard_query_only_what_the_server_exports(service: Service) -> None:
    scrape = (SCRAPES / f"{service.server}.txt").read_text(encoding="utf-8")
    assert unexported(scrape, monitoring_queries(service.root)) == []
