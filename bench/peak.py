#!/usr/bin/env python3
"""Run a command; print its wall time and peak memory (largest resident set of its processes).

A small process of its own starts the command: Linux counts into a child's peak the memory of
the process it was forked from, so the benchmark, which holds images, must not fork it itself.
Usage: python bench/peak.py COMMAND... ; prints "SECONDS KB" on its last stderr line.
"""

import resource
import subprocess
import sys
import time


def main(command: list[str]) -> int:
    """Run command, then report."""
    started = time.perf_counter()
    code = subprocess.call(command, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{seconds:.6f} {peak_kb}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
