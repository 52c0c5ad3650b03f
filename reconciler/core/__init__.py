"""The values and rules everything shares: the model, the errors, escaping, field
diffs, file paths, the schema validator. Imports nothing of reconciler's above it."""
