"""The reference service's model cards, read for ``deploy``'s preflight (the CLI layer knows the reference
service; ``shine_ops.deploy`` does not, and takes this reader as its ``local_card`` parameter)."""

from __future__ import annotations


def reference_service_card(model_uri: str) -> tuple[dict | None, str]:
    """(the card, where it was looked for) of a local MODEL_URI, or of the packaged model when it is empty, by
    the service's own rules (``reference_service.model_store`` imports only the standard library)."""
    import json
    from pathlib import Path

    try:
        from reference_service.model_store import PACKAGE_MODEL, card_path_for
    except ImportError:
        return None, "the model card (reference_service is not installed here)"
    path = Path(model_uri[7:] if model_uri.startswith("file://") else model_uri).expanduser() if model_uri \
        else PACKAGE_MODEL
    card = card_path_for(path)
    try:
        data = json.loads(card.read_text())
    except (OSError, ValueError):
        return None, str(card)
    return (data if isinstance(data, dict) else None), str(card)
