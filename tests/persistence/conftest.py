import os
import sys

# the deterministic event data module lives next to the tests
sys.path.insert(0, os.path.dirname(__file__))
