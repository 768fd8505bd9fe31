"""The snapshot of an account (typed views over raw AWS shapes), its collectors, and the request path."""
