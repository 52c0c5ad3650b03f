"""The command line: the click group and its error boundary (``main``), the options
every command shares (``options``), and one module per command that is more than a
few lines (``apply``, ``adopt``); the prompt and interrupts (``terminal``)."""
