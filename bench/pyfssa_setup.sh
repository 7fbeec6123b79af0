#!/usr/bin/env bash
# Install pyfssa 0.7.6 (PyPI name `fssa`) into a throw-away venv under /tmp and patch it for
# numpy 2 / current scipy (the three patches of REFERENCES.md):
#   fssa.py:      np.int -> int
#   optimize.py:  numpy.asfarray -> asarray(dtype=float);
#                 scipy.optimize.optimize imports -> OptimizeResult from scipy.optimize,
#                 _status_message from scipy.optimize._optimize, a local wrap_function.
# Usage: bench/pyfssa_setup.sh [VENV]   (default /tmp/pyfssa-venv); prints the python to use.
set -euo pipefail
VENV=${1:-/tmp/pyfssa-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q numpy scipy
SRC=$(mktemp -d /tmp/fssa-src.XXXX)
"$VENV/bin/pip" download -q --no-deps --no-binary :all: fssa==0.7.6 -d "$SRC"
tar xzf "$SRC"/fssa-0.7.6.tar.gz -C "$SRC"
D="$SRC/fssa-0.7.6/fssa"
sed -i 's/astype(np\.int)/astype(int)/' "$D/fssa.py"
python3 - "$D/optimize.py" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("from numpy import asfarray\n", "from numpy import asarray\n\n\ndef asfarray(a):\n    return asarray(a, dtype=float)\n\n\n")
s = s.replace(
    "from scipy.optimize.optimize import (OptimizeResult,\n                                     _status_message, wrap_function)",
    "from scipy.optimize import OptimizeResult\nfrom scipy.optimize._optimize import _status_message\n\n\n"
    "def wrap_function(function, args):\n    ncalls = [0]\n\n    def function_wrapper(x):\n        ncalls[0] += 1\n        return function(x, *args)\n\n    return ncalls, function_wrapper\n",
)
open(p, "w").write(s)
PY
"$VENV/bin/pip" install -q --no-deps --no-build-isolation "$SRC/fssa-0.7.6" 2>/dev/null || "$VENV/bin/pip" install -q --no-deps "$SRC/fssa-0.7.6"
"$VENV/bin/python" -c "import fssa, numpy; print('fssa', fssa.__version__ if hasattr(fssa, '__version__') else '0.7.6', 'numpy', numpy.__version__)" >&2
echo "$VENV/bin/python"
