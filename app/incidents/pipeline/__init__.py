"""The durable response pipeline: claims with leases, a bounded runner and a sweeper."""
