"""``reconciler init``: where a starter file and its schema go, what a starter file
says (the live organization, or a provider's commented template), and writing
both, never over a file that is there unless asked."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from reconciler import providers
from reconciler.core.errors import OutputPathError
from reconciler.core.files import write_text
from reconciler.desired import document


def paths_for(file: Path | None, provider: str) -> tuple[Path, Path]:
    """The file (``org.yaml`` for the default provider, else ``PROVIDER.yaml``) and its
    schema beside it (``PROVIDER.schema.json``)."""
    default = "org.yaml" if provider == providers.DEFAULT_PROVIDER else f"{provider}.yaml"
    target = file or Path(default)
    return target, target.with_name(f"{provider}.schema.json")


def refuse_existing(*paths: Path, force: bool) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise OutputPathError(
            f"{', '.join(map(str, existing))} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written. Pass --force to replace, or name another FILE."
        )


def template(provider: str) -> str:
    """The commented starter of a built-in provider; a bare one for any other."""
    shipped = resources.files("reconciler").joinpath(f"templates/{provider}.yaml")
    if not shipped.is_file():
        return f"version: 1\nprovider: {provider}\n"
    return shipped.read_text().split("\n", 1)[1]  # its own schema line is replaced


def write(target: Path, schema_path: Path, body: str, provider: str) -> None:
    """The schema, then the file led by the ``yaml-language-server`` line naming it."""
    write_text(schema_path, json.dumps(document.published_schema(provider), indent=2) + "\n")
    write_text(target, f"# yaml-language-server: $schema=./{schema_path.name}\n" + body)
