"""Which device the Keras backend computes on.

Keras has no public way to say so, so this module alone asks the backend itself (JAX,
TensorFlow or PyTorch); everything else in the package asks here.
"""
from __future__ import annotations

import keras


def device_kind() -> str:
    """'GPU' or 'CPU': where the current Keras backend computes."""
    backend = keras.config.backend()
    if backend == "jax":
        import jax

        return "GPU" if jax.default_backend() == "gpu" else "CPU"
    if backend == "tensorflow":
        import tensorflow as tf

        return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    if backend == "torch":
        import torch

        return "GPU" if torch.cuda.is_available() else "CPU"
    return "CPU"


def compute_capability() -> float | None:
    """The CUDA compute capability of the first GPU (e.g. 9.0 for an H100), if known."""
    backend = keras.config.backend()
    try:
        if backend == "jax":
            import jax

            value = getattr(jax.devices()[0], "compute_capability", None)
            return float(value) if value else None
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                major, minor = tf.config.experimental.get_device_details(gpus[0]).get(
                    "compute_capability", (0, 0))
                return major + minor / 10
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None
    return None


def gpu_visible() -> bool:
    """True when the Keras backend in use can see a GPU."""
    return device_kind() == "GPU"
