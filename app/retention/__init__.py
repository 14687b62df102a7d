"""Retention: old rows deleted in batches, old report snapshots and JSONL segments removed."""
