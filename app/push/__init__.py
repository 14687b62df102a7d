"""Push pipeline to Telegram: queue, outbox, preview, self-test, gates, sender, receipts."""
