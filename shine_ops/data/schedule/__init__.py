"""Scheduling recipes for `shine-ops audit --print-schedule` (placeholders {{CONFIG}} and {{OUT_DIR}})."""
