"""The engine's safety rules, one in-process test each, for mutation testing: every
rule that protects a user fails a test here when ``mutmut`` mutates it."""
