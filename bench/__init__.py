"""The benchmark: the project's conversion and uploads against the naive way, in one run."""
