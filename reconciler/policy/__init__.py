"""Policy on the plan: rules in CEL that deny a change or require its owners'
approval (``rules``: the file, read and compiled; ``judge``: the verdict on a plan)."""
