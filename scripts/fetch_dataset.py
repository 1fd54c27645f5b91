#!/usr/bin/env python
"""Download (or say how to get), verify and unpack an upstream dataset; same as `scarce fetch`.

Usage: .venv/bin/python scripts/fetch_dataset.py <name> --to <dir> [--sha256 HEX] [--archive FILE]
"""
import sys

from benchmark.data.fetch import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
