"""gates adapters."""
