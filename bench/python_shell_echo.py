"""The echo a python-shell user writes: one JSON document per line, in and out."""

import json
import sys

for line in sys.stdin:
    sys.stdout.write(json.dumps(json.loads(line)) + "\n")
    sys.stdout.flush()
