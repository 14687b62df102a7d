"""Guarded auto-remediation: rules file -> scenarios -> actions, recorded per incident."""
