"""Settings for every pytest run in this repository, nbval's notebook kernels included."""
import os

# The tests, like CI and the built book, run the CPU-sized profile unless told otherwise.
os.environ.setdefault("RESNET_BOOK_PROFILE", "quick")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
