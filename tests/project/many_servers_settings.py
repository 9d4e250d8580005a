"""The example project's settings with a widget rate limit low enough to reach in a test
(tests/project/test_many_servers.py)."""

from project.settings import *  # noqa: F403
from project.settings import SATISMETER

SATISMETER = {**SATISMETER, "WIDGET_RATE_PER_CLIENT": "6/hour"}
