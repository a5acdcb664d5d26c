"""A finding of `make doctor`: what was seen on the cluster, the fix, and where the guideline says why."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    title: str
    seen: str
    fix: str
    section: str  # guideline section title; the link is built from it

    def render(self, guideline_url: str | None) -> str:
        docs = f"{guideline_url}#{anchor(self.section)}" if guideline_url else f"guideline: {self.section}"
        return f"[{self.title}]\n  seen: {self.seen}\n  fix:  {self.fix}\n  docs: {docs}"


def anchor(title: str) -> str:
    """The Markdown heading anchor of a guideline section (GitHub/TechDocs style)."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
