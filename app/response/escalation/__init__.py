"""Escalation to PagerDuty and Slack through claimed, audited delivery records."""
