"""Shine reference service: face detection (Haar cascade + a small Keras verifier) and skin image measurements.

Nothing heavy is imported here: ``create_app`` is instant and TensorFlow loads in a background thread.
"""

__version__ = "1.0.0"
SERVICE_NAME = "shine-reference-service"
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8000
