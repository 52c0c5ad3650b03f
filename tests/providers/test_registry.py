"""The registry: providers are found through their entry points; one whose package
does not load is named, in one sentence, where a file asks for it, and the others
keep working."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import providers
from reconciler.cli.main import cli
from reconciler.core.errors import ConfigError


@pytest.fixture
def broken_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The installed entry points, plus another package's whose module is missing."""
    real = list(entry_points(group=providers.GROUP))
    broken = EntryPoint("acme", "reconciler_acme_missing:AcmeProvider", providers.GROUP)
    monkeypatch.setattr(providers, "entry_points", lambda group: [*real, broken])
    providers._loaded.cache_clear()
    yield
    providers._loaded.cache_clear()


@pytest.mark.usefixtures("broken_plugin")
def test_a_provider_that_does_not_load_is_named_and_the_others_work(tmp_path: Path) -> None:
    assert providers.names() == ("company", "anthropic-admin")
    with pytest.raises(ConfigError) as caught:
        providers.get("acme")
    assert str(caught.value.problems[0]).endswith(
        "provider 'acme' is installed but does not load (ModuleNotFoundError: No module "
        "named 'reconciler_acme_missing'); reinstall its package, or use one of "
        "('company', 'anthropic-admin')"
    )
    theirs, ours = tmp_path / "acme.yaml", tmp_path / "org.yaml"
    theirs.write_text("version: 1\nprovider: acme\n")
    ours.write_text("version: 1\ncompany:\n  name: Acme\n")
    runner = CliRunner()
    refused = runner.invoke(cli, ["validate", str(theirs)])
    assert refused.exit_code == 1
    assert "provider 'acme' is installed but does not load" in refused.output
    assert "Traceback" not in refused.output
    fine = runner.invoke(cli, ["validate", str(ours)])
    assert fine.exit_code == 0, fine.output


def test_an_unknown_provider_is_a_file_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        providers.get("nope")
    assert "unknown provider 'nope'; use one of ('company', 'anthropic-admin')" in str(
        caught.value.problems[0]
    )
