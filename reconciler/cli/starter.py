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


def schema_text(provider: str) -> str:
    """The schema file ``init`` writes beside a starter file."""
    return json.dumps(document.published_schema(provider), indent=2) + "\n"


def refuse_existing(target: Path, schema_path: Path, provider: str, *, force: bool) -> None:
    """A file there is never replaced unless asked; the schema beside it may be there
    already when it is this version's (several files share one folder's schema)."""
    existing = [target] if target.exists() else []
    if schema_path.exists() and _read(schema_path) != schema_text(provider):
        existing.append(schema_path)
    if existing and not force:
        differs = (
            f" ({schema_path} holds another schema: an older reconciler's, or edited; "
            f"'reconciler schema > {schema_path}' brings it up to date)"
            if schema_path in existing
            else ""
        )
        raise OutputPathError(
            f"{', '.join(map(str, existing))} already exist{'s' if len(existing) == 1 else ''}"
            f"{differs}; nothing was written. Pass --force to replace, or name another FILE."
        )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def template(provider: str) -> str:
    """The commented starter of a built-in provider; a bare one for any other."""
    shipped = resources.files("reconciler").joinpath(f"templates/{provider}.yaml")
    if not shipped.is_file():
        return f"version: 1\nprovider: {provider}\n"
    return shipped.read_text().split("\n", 1)[1]  # its own schema line is replaced


def write(target: Path, schema_path: Path, body: str, provider: str) -> None:
    """The schema, then the file led by the ``yaml-language-server`` line naming it."""
    write_text(schema_path, schema_text(provider))
    write_text(target, f"# yaml-language-server: $schema=./{schema_path.name}\n" + body)
