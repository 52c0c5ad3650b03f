"""The flows (plan a source, apply a source, adopt), planning, saved plans, executing
a plan, rendering: what a command calls, knowing no provider in particular."""
