"""Retraining from the bundled data reaches a useful held-out accuracy (quick settings)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
@pytest.mark.service
def test_retrain_quickly_and_check_held_out(tmp_path):
    from reference_service.model_store import sha256_file
    from reference_service.train import CARD_FILE, MODEL_FILE, train

    card = train(tmp_path, epochs=6)
    assert (tmp_path / MODEL_FILE).stat().st_size < 100_000
    assert card["sha256"] == sha256_file(tmp_path / MODEL_FILE)
    on_disk = json.loads((tmp_path / CARD_FILE).read_text())
    assert on_disk == card
    held = card["held_out"]
    print("held-out:", held)
    assert held["accuracy"] >= 0.85 and held["balanced_accuracy"] >= 0.85 and held["face_recall"] >= 0.8
    assert held["groups"]["lfw_faces"]["n"] == 20 and held["groups"]["lfw_nonfaces"]["n"] == 20
    assert "lfw_subset" in card["data_provenance"]["faces"]
    assert not list(tmp_path.glob("*.tmp*"))
