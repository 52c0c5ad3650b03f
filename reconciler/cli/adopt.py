"""``reconciler adopt``: live back into git. The file is edited in place to say what
is live for what it manages, so a Console change becomes a reviewable diff
instead of a nightly failure; ``flows.adopt`` does the work, this module
the command line and what it prints."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import click

from reconciler.cli.options import (
    api_key_env_option,
    base_url_option,
    echo,
    federation_options,
    global_options,
    keys_and_host,
    reading_for,
    run,
)
from reconciler.core.edits import Put
from reconciler.core.errors import OutputPathError
from reconciler.core.escape import visible
from reconciler.core.files import write_text
from reconciler.core.model import Action, Plan
from reconciler.desired.document import load
from reconciler.engine import flows, planfile


@click.command(
    epilog=keys_and_host(), short_help="Make files say what is live, editing them in place."
)
@global_options
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@base_url_option
@api_key_env_option
@federation_options
@click.option(
    "--add-unmanaged",
    is_flag=True,
    help="Also add the live resources the file does not name (projects, users, members, "
    "workspaces, keys), each in its section.",
)
@click.option("--dry-run", is_flag=True, help="Print the unified diff; do not write the file.")
@click.option(
    "--plan",
    "saved",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Adopt the drift of this saved plan of FILE (as the drift workflow does); refused "
    "when the file or live state moved since (one FILE only).",
)
@click.pass_context
def adopt(
    ctx: click.Context,
    files: tuple[Path, ...],
    base_url: str | None,
    api_key_env: str | None,
    add_unmanaged: bool,
    dry_run: bool,
    saved: Path | None,
) -> None:
    """Make FILES say what is live, editing them in place.

    A drifted value gets the live value on its own line; a listed resource that no
    longer exists live leaves the file; in a section with prune: true, a live
    resource the file would remove is added. Comments, key order, quoting, flow
    mappings and blank lines stay as they are; afterwards, plan is empty. Nothing
    is written unless the new file validates and plans to no changes."""
    if saved is not None and len(files) > 1:
        raise click.UsageError("--plan goes with one FILE")
    for path in files:
        _adopt_one(ctx, path, base_url, api_key_env, add_unmanaged, dry_run, saved)


def _adopt_one(
    ctx: click.Context,
    path: Path,
    base_url: str | None,
    api_key_env: str | None,
    add_unmanaged: bool,
    dry_run: bool,
    saved: Path | None,
) -> None:
    desired = load(path)
    if not dry_run:
        _check_editable(path)
    plan = planfile.load_saved(saved).plan if saved is not None else None
    connection = reading_for(ctx, desired, base_url=base_url, api_key_env=api_key_env)
    adopted = run(flows.adopt(path, connection, add_unmanaged=add_unmanaged, saved=plan))
    if adopted.is_empty:
        echo(ctx, f"No drift: {path} already says what is live; it was not touched.\n")
        return
    lines = [f"{path}: what is live, resource by resource:", *_described(adopted)]
    if dry_run:
        before = path.read_text(encoding="utf-8").splitlines(keepends=True)
        diff = difflib.unified_diff(
            before, adopted.text.splitlines(keepends=True), str(path), f"{path} (adopted)"
        )
        echo(ctx, "".join(visible(line.rstrip("\n")) + "\n" for line in diff))
        echo(ctx, "\n".join(lines) + f"\nDry run: {path} was not changed.\n")
        return
    write_text(path, adopted.text)
    echo(
        ctx,
        "\n".join(lines)
        + f"\nAdopted into {path}; 'reconciler plan {path}' now shows no changes.\n",
    )


def _check_editable(path: Path) -> None:
    """Refuse, before any request, a file adopt could not replace faithfully."""
    if path.is_symlink():
        raise OutputPathError(
            f"{path} is a symbolic link; adopt edits the file itself, so name it. Nothing was sent."
        )
    if not path.stat().st_mode & 0o200 or not _writable_dir(path):
        raise OutputPathError(
            f"{path} is read-only (or its directory is); adopt would have nowhere to write. "
            "Nothing was sent."
        )


def _writable_dir(path: Path) -> bool:
    return os.access(path.parent, os.W_OK)


def _described(adopted: flows.Adopted) -> list[str]:
    ended = {(h.address, h.field) for h in adopted.settled}
    return [
        *(f"  ~ {visible(address)}: {visible(said)}" for address, said in adopted.decided),
        *_drift_lines(adopted.drift, adopted.written, ended),
        *_added_lines(adopted.added),
        *(
            f"  ✓ {visible('.'.join(h.path))}: held until {visible(h.written)}, which has "
            + ("passed: the entry leaves the file" if h.grant else f"passed: now {_shown(h.then)}")
            for h in adopted.settled
        ),
    ]


def _drift_lines(
    drift: Plan, written: frozenset[str], ended: set[tuple[str, str | None]]
) -> list[str]:
    found = []
    for change in drift.resources:
        if (change.address, None) in ended:
            continue  # an ended grant or held value: settled below, applied by apply
        address = visible(change.address)
        if change.action is Action.CREATE:
            found.append(f"  - {address}: not live; removed from the file (or set to null)")
        elif change.action.removes and change.address not in written:
            found.append(f"  + {address}: live, and pruned by the file; added to the file")
        else:
            for name, field in change.changes.items():
                if (change.address, name) in ended:
                    continue
                found.append(
                    f"  ~ {address}.{visible(name)}: {_shown(field.after)} in the file, "
                    f"{_shown(field.before)} live"
                )
    return found


def _added_lines(added: tuple[Put, ...]) -> list[str]:
    return [f"  + {visible('.'.join(put.path))}: live, not in the file; added" for put in added]


def _shown(value: object) -> str:
    return visible(json.dumps(value, ensure_ascii=False))
