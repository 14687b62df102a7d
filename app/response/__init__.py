"""The response pipeline after an incident opens: claims with leases, a bounded runner, a
sweeper, and the steps it runs (diagnostics, remediation, escalation)."""
