#!/usr/bin/env python
"""Side-by-side engine benchmark; same as `scarce bench`. Usage: .venv/bin/python scripts/bench.py [--quick]"""
import sys

from benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
