"""An API key (``api_keys:``, keyed by id): reconciler renames and activates or
deactivates keys; it never creates one (its secret is the Console's) nor removes it."""

from reconciler.providers.kinds.spec import Kind, Removal

SPEC = Kind(
    name="api_key",
    noun="API key",
    section=("api_keys",),
    fields=("name", "status"),
    removal=Removal.NONE,
    key_field="id",
)
