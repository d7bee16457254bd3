# The notebooks here are test data for tests/test_grade.py (a reference and its submissions),
# not notebooks to run under nbval: the repository's pytest settings would collect them.
collect_ignore_glob = ["*.ipynb"]
