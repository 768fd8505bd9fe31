"""Active probes (HTTP, DNS) shared by the diagnose engine and the CLI."""
