"""Write each provider's published file schema (``reconciler/schemas/``) from its frame
and kind fragments: ``python -m tests.support.schemas`` after editing a fragment."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.providers import get

PUBLISHED = {
    "company": Path("reconciler/schemas/org.schema.json"),
    "anthropic-admin": Path("reconciler/schemas/anthropic-admin.schema.json"),
}


def text(provider: str) -> str:
    return json.dumps(get(provider).schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, path in PUBLISHED.items():
        path.write_text(text(name), encoding="utf-8")
        print(f"wrote {path}")
