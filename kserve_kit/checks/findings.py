"""A finding of `make doctor`: what was seen on the cluster, the fix, and where the guideline says why."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    title: str
    seen: str
    fix: str
    section: str  # guideline section title; the link is built from it

    def render(self, guideline_url: str | None, sections: Collection[str] | None = None) -> str:
        """The finding for people; the link goes to the section's anchor where the platform's guide has
        that section (`sections`, from the profile; None: assume it has), else to the guide."""
        if not guideline_url:
            docs = f"guideline: {self.section}"
        elif sections is None or self.section in sections:
            docs = f"{guideline_url}#{anchor(self.section)}"
        else:
            docs = f"{guideline_url} ({self.section})"
        return f"[{self.title}]\n  seen: {self.seen}\n  fix:  {self.fix}\n  docs: {docs}"


def anchor(title: str) -> str:
    """The Markdown heading anchor of a guideline section (GitHub/TechDocs style)."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
