"""Settings of the widget bench: the example project's, served over plain HTTP on loopback.

``bench/widget.py`` sets ``DJANGO_SETTINGS_MODULE=bench.settings`` for gunicorn and for its own
process. The widget throttles are raised so that they never answer 429 to the bench (they still
run, in Redis, on every call), and ``BENCH_ROOT_URLCONF`` picks the URLconf (by default the
project's URLs plus the ``/bench/ping`` baseline).
"""

import os
import warnings

from project.settings import *  # noqa: F403
from project.settings import SATISMETER

ROOT_URLCONF = os.environ.get("BENCH_ROOT_URLCONF", "bench.baseline_urls")

SATISMETER = {
    **SATISMETER,
    "WIDGET_RATE_PER_KEY": "100000000/min",
    "WIDGET_RATE_PER_CLIENT": "100000000/min",
}

# Plain HTTP on 127.0.0.1: no redirect to HTTPS (the production settings turn it on).
SECURE_SSL_REDIRECT = False

# WhiteNoise notes that collectstatic has not run; the bench serves no static files.
warnings.filterwarnings("ignore", "No directory at", UserWarning)
