"""Start-up: /ready says 200 only once the model is loaded and everything is warm; the verifier's crop."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.service


def test_loaded_state_is_warm(loaded_state):
    """After load(): both cascades loaded (the small-input path ran), the decoders warmed, phases timed."""
    assert loaded_state.status == "ready"
    assert loaded_state.detector._second is not None  # warm() ran the small-input path's second cascade
    assert {"detector_load_seconds", "model_load_seconds", "warm_seconds", "ready_seconds"} <= set(loaded_state.timings)


def test_not_ready_until_the_loader_is_done(loaded_state):
    """A model in place is not enough: until the loader finishes its warm-up, /ready stays 503 ("loading")."""
    from reference_service.app import create_app
    from reference_service.state import ServiceState

    st = ServiceState(model_uri="")
    st.detector, st.model, st._predict = loaded_state.detector, loaded_state.model, loaded_state._predict
    st.detector_ready.set()
    c = create_app(state=st, start_loading=False).test_client()
    r = c.get("/ready")
    assert r.status_code == 503 and r.json["status"] == "loading"
    st.done.set()
    r = c.get("/ready")
    assert r.status_code == 200 and r.json["status"] == "ready"


def test_widened_crop_keeps_centre_and_replicates_edges():
    from reference_service.preprocess import crop_batch, widen

    assert widen((10, 20, 100, 100), 1.1) == (5, 15, 110, 110)
    assert widen((10, 20, 100, 50), 1.0) == (10, 20, 100, 50)
    # a box at the image's corner, widened: the part outside takes the edge pixels (replicated), not zeros, so
    # the crop's top-left corner stays bright (above the crop's mean); the bright square grows from 20% to 25%
    img = np.zeros((50, 50), np.uint8)
    img[:10, :10] = 200
    plain = crop_batch(img, [(0, 0, 50, 50)], size=10)[0, :, :, 0]
    wide = crop_batch(img, [(0, 0, 50, 50)], size=10, expand=1.2)[0, :, :, 0]
    assert wide.shape == plain.shape == (10, 10)
    assert wide[0, 0] > 0 and wide[-1, -1] < 0
    assert (wide > 0).sum() > (plain > 0).sum()
    # expand=1 is the old crop exactly
    boxes = [(3, 4, 20, 20), (30, 30, 20, 20)]
    assert np.array_equal(crop_batch(img, boxes), crop_batch(img, boxes, expand=1.0))


def test_verifier_scores_widened_jittered_views_on_the_astronaut(loaded_state):
    """The detector verifies each proposal as 5 views (widened by verify_scale, shifted by verify_jitter) and
    reports their mean; with the jitter off, one view."""
    import cv2
    from dataclasses import replace

    from reference_service.detector import FaceDetector
    from skimage import data

    det = loaded_state.detector
    assert det.settings.verify_scale > 1.0 and det.settings.verify_jitter > 0
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    scanned, boxes, _ = det.propose(gray)
    crops = det.verification_crops(scanned, boxes)
    assert crops.shape == (5 * len(boxes), 25, 25, 1)
    verifier = loaded_state.verifier()
    views = verifier(crops).reshape(5, len(boxes))
    assert np.ptp(views[:, 0]) > 0  # the views differ: the verifier sees five different crops
    faces, _ = det.detect(gray, verifier)
    assert faces[0].confidence == pytest.approx(float(views.mean(axis=0).max()), abs=1e-3)
    single = FaceDetector(replace(det.settings, verify_jitter=0.0))
    assert single.verification_crops(scanned, boxes).shape == (len(boxes), 25, 25, 1)
