"""Ops overview: the summary daily_ops.sh reads (GET /api/ops/summary)."""
