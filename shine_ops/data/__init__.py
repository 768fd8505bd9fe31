"""Data shipped with shine-ops (scheduling recipes)."""
