"""shine-ops: find, explain and safely fix the broken link in a load-balanced ECS request path."""

__version__ = "0.1.0"
