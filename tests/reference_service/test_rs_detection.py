"""Detection quality on the bundled real photos, and the skin measurements."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from rs_helpers import ASTRONAUT_FACE, encode, iou

pytestmark = pytest.mark.service


def lfw_images(which: slice):
    """lfw_subset crops upscaled 25 -> 100 px with a 20 px replicated border (as in the platform notes)."""
    import cv2
    from skimage import data

    lfw = (data.lfw_subset() * 255).round().astype(np.uint8)
    for f in lfw[which]:
        yield cv2.copyMakeBorder(cv2.resize(f, (100, 100)), 20, 20, 20, 20, cv2.BORDER_REPLICATE)


def test_astronaut_exactly_one_face_near_reference(loaded_state):
    import cv2
    from skimage import data

    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    faces, proposals = loaded_state.detector.detect(gray, loaded_state.verifier())
    assert len(faces) == 1
    f = faces[0]
    assert iou((f.x, f.y, f.width, f.height), ASTRONAUT_FACE) > 0.8
    assert f.confidence >= 0.9


def test_lfw_recall_and_false_positives(loaded_state):
    """Recall of the full pipeline (cascade at our settings + CNN) on the 100 lfw faces; non-faces flagged."""
    verifier = loaded_state.verifier()
    found = sum(bool(loaded_state.detector.detect(img, verifier)[0]) for img in lfw_images(slice(0, 100)))
    flagged = sum(bool(loaded_state.detector.detect(img, verifier)[0]) for img in lfw_images(slice(100, 200)))
    print(f"lfw recall {found}/100, non-faces flagged {flagged}/100")
    assert found >= 90
    assert flagged <= 5


def test_verifier_separates_held_out_style_inputs(loaded_state):
    """The model, not a constant: faces score high and textured non-faces low."""
    from reference_service.preprocess import crop_batch
    from skimage import data

    lfw = (data.lfw_subset() * 255).round().astype(np.uint8)
    faces = np.concatenate([crop_batch(f, [(0, 0, 25, 25)]) for f in lfw[:100]])
    non = np.concatenate([crop_batch(f, [(0, 0, 25, 25)]) for f in lfw[100:]])
    pf, pn = loaded_state.verifier()(faces), loaded_state.verifier()(non)
    assert pf.mean() > 0.8 and pn.mean() < 0.2
    assert np.std(pf) > 0.001 and len(np.unique(np.round(pf, 6))) > 50


def test_measurements_ranges_and_direction():
    from reference_service.measurements import MEASUREMENTS, measure
    from skimage import data

    img = data.astronaut()
    base = measure(img, ASTRONAUT_FACE)
    for name, m in base["measurements"].items():
        lo, hi = MEASUREMENTS[name]["range"]
        assert (lo is None or m["value"] >= lo) and (hi is None or m["value"] <= hi)
    redder = img.astype(np.int16)
    redder[..., 0] += 40
    redder[..., 1] -= 10
    redder = np.clip(redder, 0, 255).astype(np.uint8)
    assert measure(redder, ASTRONAUT_FACE)["measurements"]["redness_a_star"]["value"] > \
        base["measurements"]["redness_a_star"]["value"] + 5
    flat = np.full((200, 200, 3), (205, 150, 125), np.uint8)  # uniform skin-like colour
    m = measure(flat, (50, 50, 100, 100))["measurements"]
    assert m["tone_evenness"]["value"] > 0.99 and m["texture_laplacian_var"]["value"] < 1
    assert m["blemish_count"]["value"] == 0 and m["shine_fraction"]["value"] == 0
    spots = flat.copy()
    for k in range(6):
        spots[70 + 10 * (k % 3): 73 + 10 * (k % 3), 70 + 15 * (k // 3): 73 + 15 * (k // 3)] = (90, 60, 50)
    assert measure(spots, (50, 50, 100, 100))["measurements"]["blemish_count"]["value"] == 6
    gray = np.full((200, 200, 3), 128, np.uint8)
    assert measure(gray, (50, 50, 100, 100))["skin_mask"] == "ellipse_fallback"


def test_user_skin_classifier_from_card(tmp_path, astronaut_b64, monkeypatch):
    """A tiny Keras classifier built here, with its card, adds its predictions to the analysis."""
    import hashlib
    import json

    import keras

    from reference_service.app import create_app
    from reference_service.state import ServiceState

    inp = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(inp)
    out = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inp, out)
    path = tmp_path / "skin.keras"
    model.save(path)
    card = {"name": "toy-skin", "version": "0.1", "labels": ["dry", "normal", "oily"],
            "preprocessing": {"scale": "0-1"}, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (tmp_path / "skin.card.json").write_text(json.dumps(card))
    st = ServiceState(model_uri="", skin_model_uri=str(path))
    st.load()
    assert st.skin is not None, st.skin_error
    c = create_app(state=st, start_loading=False).test_client()
    res = c.post("/api/v6/skin/analyze-hare-run", json={"image_data": astronaut_b64}).json["result"]
    sc = res["skin_classifier"]
    assert sc["name"] == "toy-skin" and set(sc["predictions"]) == {"dry", "normal", "oily"}
    assert abs(sum(sc["predictions"].values()) - 1) < 1e-3 and sc["top_label"] in sc["predictions"]
    assert c.get("/api/v5/skin/model-status").json["skin_classifier"]["name"] == "toy-skin"
    # a card whose labels do not fit the model: the classifier is refused, the service stays ready
    card["labels"] = ["a", "b"]
    (tmp_path / "skin.card.json").write_text(json.dumps(card))
    st2 = ServiceState(model_uri="", skin_model_uri=str(path))
    st2.load()
    assert st2.status == "ready" and st2.skin is None and "labels" in st2.skin_error


def test_detect_endpoint_many_faces_sorted(client):
    """Two astronauts side by side: two faces, largest first."""
    import cv2
    from skimage import data

    a = data.astronaut()
    wide = np.hstack([a, a])
    r = client.post("/api/v4/face/detect", json={"image_data": base64.b64encode(encode(wide)).decode()})
    faces = r.json["faces"]
    assert len(faces) == 2
    assert faces[0]["bounds"]["width"] * faces[0]["bounds"]["height"] >= faces[1]["bounds"]["width"] * faces[1]["bounds"]["height"]
