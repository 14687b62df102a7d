"""Cross-domain helpers named by the contracts (contract C fixes the push formatter's path)."""
