"""What a credential looks like, for the policy (`make validate`: no credential in the repo) and the
wizard (no credential in an answer): standard library only, so the kit's extensions import it too."""

from __future__ import annotations

import re

CREDENTIAL_PATTERNS = [
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (
        re.compile(
            r"(?i)\b(?:aws_secret_access_key|secret_access_key|password|passwd|api_key|auth_token)\b"
            r"[\"']?\s*[:=]\s*[\"']?(?!\{\{)[A-Za-z0-9/+=_\-]{12,}"
        ),
        "a secret value",
    ),
]


def credentials_in(text: str) -> list[str]:
    """The kinds of credential `text` holds (none: [])."""
    return [what for pattern, what in CREDENTIAL_PATTERNS if pattern.search(text)]
