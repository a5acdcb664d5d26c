"""Read service.yaml: what the kit derived for this service (endpoints, gateway, policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_service(path: Path = REPO_ROOT / "service.yaml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
