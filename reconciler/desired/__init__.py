"""Reading a desired-state file: strict YAML with positions, the schema, holds, the
problems' messages, and writing values back as YAML text."""
