"""reconciler: a Claude API organization's settings as code (plan, then apply)."""

__version__ = "0.1.0"
