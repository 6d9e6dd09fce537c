"""``python -m xr_landcover.cli``: the ``xr-landcover`` command, as the console script runs it.

Examples
--------
.. code-block:: bash

    python -m xr_landcover.cli info scene.tif
"""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
