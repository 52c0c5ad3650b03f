"""The Company API's kinds, one module each, registered here: one line per kind."""

from reconciler.providers.company.kinds import company, project
from reconciler.providers.company.kinds.kind import CompanyKind

KINDS: tuple[CompanyKind, ...] = (company.KIND, project.KIND)
BY_NAME: dict[str, CompanyKind] = {k.spec.name: k for k in KINDS}


def kind_of(address: str) -> tuple[CompanyKind, tuple[str, ...]]:
    """The kind of ``address`` (``company``, ``project.proj_1``) and its names."""
    name, dot, ident = address.partition(".")
    kind = BY_NAME.get(name)
    if kind is None or bool(dot) != kind.keyed or (dot and not ident):
        raise ValueError(f"no such resource as {address!r}")
    return kind, (ident,) if dot else ()
