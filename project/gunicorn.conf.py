"""gunicorn's configuration for the example project: ``gunicorn -c project/gunicorn.conf.py``.

The access log must never hold a secret, whatever ``access_log_format`` an operator sets:

- HTTP Basic auth's user name is the project's secret API key as Segment's libraries send it,
  and gunicorn's default format writes it (``%(u)s``);
- query strings carry user ids and email addresses (``/api/users?userId=…``), and the paths of
  reminder emails' links carry their signed tokens (``/email/r/<token>``);
- headers (``%({authorization}i)s``, cookies) and the referrer can carry any of these.

So :class:`RedactingLogger` empties or masks those atoms before any format sees them, and the
format names only the method, the path, the status, the size, the time and the user agent.
Command-line options override what is set here (``--bind``, ``--workers``,
``--access-logfile``); docs/deployment.md has the rest.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from gunicorn.glogging import Logger

wsgi_app = "project.wsgi:application"
accesslog = "-"  # stdout, beside the app's logs on stderr
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Header, environ and response atoms (``{name}i``, ``{name}e``, ``{name}o``) never written.
SECRET_ATOM = re.compile(
    r"auth|cookie|key|token|secret|signature|password|uri|query|path|referer", re.I
)
# The token of a reminder email's link (docs/email.md), wherever the app is mounted.
EMAIL_LINK = re.compile(r"(/email/[a-z]/)[^/?#]+")
REDACTED = "[redacted]"


def redact_url(url: str) -> str:
    """The URL without its query, fragment or email-link token."""
    return EMAIL_LINK.sub(rf"\g<1>{REDACTED}", re.split(r"[?#]", url, maxsplit=1)[0])


@functools.lru_cache(maxsize=1024)
def is_secret_atom(name: str) -> bool:
    """Decided once per atom name (the same few dozen come with every request): the regex on
    each atom of each request was most of what redacting cost, about 70 us a request."""
    return name.startswith("{") and SECRET_ATOM.search(name) is not None


class RedactingLogger(Logger):
    """gunicorn's logger, with the access log's atoms that can hold a secret masked."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact_url(environ.get("PATH_INFO") or "")
        for name in [name for name in atoms if is_secret_atom(name)]:
            atoms[name] = REDACTED
        atoms.update(
            u="-",
            q="",
            U=path,
            r=f"{atoms['m']} {path} {atoms['H']}",
            f=redact_url(environ.get("HTTP_REFERER") or "-"),
        )
        return atoms


logger_class = RedactingLogger
