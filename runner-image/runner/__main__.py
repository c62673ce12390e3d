"""`python -m runner ...`"""

import os
import sys

from runner.cli import main

code = main()
# Everything the job wrote is closed by now. The interpreter's own shutdown (unloading pandas,
# scikit-learn and matplotlib module by module) would only keep the container alive for seconds.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
