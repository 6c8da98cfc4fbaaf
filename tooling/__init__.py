"""Operator tooling: the onewindow command, the process runner, demo, load generator, fault suite
and audit. The only code that may import every service."""
