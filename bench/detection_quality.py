"""Face detection quality of the reference service's detector against bare OpenCV Haar, on a held-out half.

Data: scikit-image's ``lfw_subset`` (bundled in its wheel): images 0-99 are 25x25 faces, 100-199 non-faces.
The detector's settings were tuned on the first half of each (faces 0-49, non-faces 100-149); this reports
the other half (faces 50-99, non-faces 150-199) beside the tuning half, in three renderings of the crops:

- ``4x+border``: upscaled 4x to 100 px with a 20 px replicated border (the platform notes' and the tests'
  setting; bare Haar finds 97 of all 100 faces there);
- ``4x``: upscaled 4x to 100 px, the face filling the frame;
- ``25px``: the crops as they are (bare Haar cannot find a 25 px face: its minSize is 30).

Baseline: bare ``haarcascade_frontalface_default`` with scaleFactor 1.1, minNeighbors 5, minSize 30 (a face
= at least one box). Service: ``FaceDetector.detect`` with the shipped verifier (a face = at least one
verified face; each proposal verified widened and as five jittered views, see ``reference_service/detector.py``). Caveat: the verifier itself was trained on 80 of the 100 faces (its card's split), so the
held-out half is held out from the detector's tuning, not from the verifier's training; the non-faces of
this set produce no cascade proposal at all, so "no false face" does not rest on the verifier.

Also the astronaut (512x512): p50 of the service's detection (decode + cascade + CNN, in process) and of
bare Haar at the settings above, interleaved so both see the same load; their ratio (target <= 1.0).

Run: ``python bench/detection_quality.py [--json] [--repeats N]``. ``bench/service_latency.py`` runs the
same comparison over HTTP against gunicorn.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TUNE = (slice(0, 50), slice(100, 150))
HELD_OUT = (slice(50, 100), slice(150, 200))
RENDERINGS = ("4x+border", "4x", "25px")
BASELINE = {"scaleFactor": 1.1, "minNeighbors": 5, "minSize": (30, 30)}


def lfw_images(rendering: str):
    """The 200 lfw_subset crops (uint8 gray) rendered as named in ``RENDERINGS``."""
    import cv2
    import numpy as np
    from skimage import data

    lfw = (data.lfw_subset() * 255).round().astype(np.uint8)
    if rendering == "25px":
        return list(lfw)
    out = [cv2.resize(f, (100, 100)) for f in lfw]
    if rendering == "4x+border":
        out = [cv2.copyMakeBorder(f, 20, 20, 20, 20, cv2.BORDER_REPLICATE) for f in out]
    return out


def bare_haar():
    """Bare OpenCV Haar at the baseline settings: image -> list of boxes."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def run(gray):
        return list(cascade.detectMultiScale(gray, **BASELINE))

    return run


def split_counts(hits: list[bool]) -> dict:
    """Faces found and false faces, on the tuning half and on the held-out half (out of 50 each)."""
    return {"tune": {"faces": sum(hits[TUNE[0]]), "false": sum(hits[TUNE[1]])},
            "held_out": {"faces": sum(hits[HELD_OUT[0]]), "false": sum(hits[HELD_OUT[1]])}}


def quality(detect_fn, renderings=RENDERINGS) -> dict:
    """{rendering: {"baseline": counts, "service": counts}}; ``detect_fn(gray) -> bool`` (face found)."""
    haar = bare_haar()
    out = {}
    for r in renderings:
        images = lfw_images(r)
        out[r] = {"baseline": split_counts([bool(haar(i)) for i in images]),
                  "service": split_counts([bool(detect_fn(i)) for i in images])}
    return out


def astronaut_ratio(service_fn, repeats: int = 60) -> dict:
    """p50 of ``service_fn()`` and of bare Haar on the astronaut (gray, already decoded), interleaved."""
    import cv2
    from skimage import data

    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    haar = bare_haar()
    svc, bare = [], []
    for _ in range(3):
        service_fn(), haar(gray)
    for _ in range(repeats):
        t0 = time.perf_counter()
        service_fn()
        t1 = time.perf_counter()
        haar(gray)
        t2 = time.perf_counter()
        svc.append((t1 - t0) * 1000)
        bare.append((t2 - t1) * 1000)
    s50, b50 = statistics.median(svc), statistics.median(bare)
    return {"service_p50_ms": round(s50, 1), "bare_haar_p50_ms": round(b50, 1), "ratio": round(s50 / b50, 2),
            "bare_haar_faces": [list(map(int, b)) for b in haar(gray)]}


def quality_rows(q: dict) -> list[tuple[str, str]]:
    rows = []
    for r, v in q.items():
        b, s = v["baseline"], v["service"]
        rows.append((f"lfw {r}, held-out half: faces found /50 (false faces /50)",
                     f"service {s['held_out']['faces']} ({s['held_out']['false']})   "
                     f"bare Haar {b['held_out']['faces']} ({b['held_out']['false']})"))
        rows.append((f"lfw {r}, tuning half (for reference)",
                     f"service {s['tune']['faces']} ({s['tune']['false']})   "
                     f"bare Haar {b['tune']['faces']} ({b['tune']['false']})"))
    return rows


def verdict(q: dict, ratio: float | None) -> dict:
    """The issue's targets: recall on the held-out half at or above bare Haar in every rendering and above it
    in at least one (with the border both reach 50/50), no false face, astronaut p50 ratio <= 1.0."""
    held = [(v["service"]["held_out"], v["baseline"]["held_out"]) for v in q.values()]
    return {"recall_not_below_baseline": all(s["faces"] >= b["faces"] for s, b in held),
            "recall_above_baseline_somewhere": any(s["faces"] > b["faces"] for s, b in held),
            "no_false_face": all(s["false"] == 0 for s, _ in held),
            "astronaut_ratio_le_1": None if ratio is None else ratio <= 1.0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="astronaut timing rounds (bounded)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import cv2
    import numpy as np

    from reference_service.images import decode_image
    from reference_service.state import ServiceState

    st = ServiceState(model_uri="", skin_model_uri="")
    st.load()
    if st.status != "ready":
        raise SystemExit(f"the service's model did not load: {st.model_error}")
    verifier = st.verifier()
    load0 = os.getloadavg()[0]
    q = quality(lambda g: st.detector.detect(g, verifier)[0])
    sample = json.loads((ROOT / "reference_service" / "sample_astronaut.json").read_text())
    import base64

    jpeg = base64.b64decode(sample["image_data"])

    def service_once():
        gray, _, _ = decode_image(jpeg, mode="L", max_side=st.detector.settings.max_side)
        return st.detector.detect(gray, verifier)

    a = astronaut_ratio(service_once, args.repeats)
    res = {"quality": q, "astronaut": a, "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
           "settings": st.detector.settings.to_json()}
    res["targets_met"] = verdict(q, a["ratio"])
    rows = quality_rows(q) + [
        ("astronaut p50: service (decode+detect+CNN) / bare Haar",
         f"{a['service_p50_ms']} / {a['bare_haar_p50_ms']} ms = {a['ratio']}  [target <= 1.0]"),
        ("load average (1 min) at start, end", f"{res['load_avg_1m'][0]}, {res['load_avg_1m'][1]} on {os.cpu_count()} cpus"),
        ("targets met", json.dumps(res["targets_met"])),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if args.json:
        print(json.dumps(res, indent=2, default=str))
    del cv2, np
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
