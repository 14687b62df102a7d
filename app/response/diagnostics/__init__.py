"""Diagnostics providers (Kubernetes, Prometheus, dependencies), each bounded in time."""
