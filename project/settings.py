"""Settings of the example project, read from the environment with django-environ.

With nothing set this is the demo: SQLite, DEBUG on, a local-memory cache and a Celery broker
on the file system (kombu's ``filesystem://`` transport) that the demo's worker reads, so no
server is needed. Set ``DATABASE_URL`` and ``REDIS_URL`` (or ``CELERY_BROKER_URL``) for
PostgreSQL and Redis, and ``DEBUG=false`` with ``SECRET_KEY`` (50+ random characters) and
``ALLOWED_HOSTS`` for production; ``manage.py check --deploy`` is clean in that mode.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from satismeter_app import queues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("SATISMETER_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def production_secret_key(key: str) -> str:
    """``key`` if Django's deployment check would take it (security.W009): a weaker one fails
    the start, not a warning that a deployment may never read."""
    if (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        raise ImproperlyConfigured(
            f"Production mode (DEBUG=false) needs a random SECRET_KEY of at least "
            f"{SECRET_KEY_MIN_LENGTH} characters ({SECRET_KEY_MIN_UNIQUE_CHARACTERS}+ different "
            f"ones, not starting with {SECRET_KEY_INSECURE_PREFIX!r}). Make one with: python -c "
            '"from django.core.management.utils import get_random_secret_key as k; print(k())"'
        )
    return key


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-demo-key-only-for-debug-mode")
else:
    SECRET_KEY = production_secret_key(env.str("SECRET_KEY", default=""))
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Staff tokens for the management API (/api/manage/): `manage.py drf_create_token <user>`.
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and Redoc served from our static files, not from a CDN.
    "drf_spectacular_sidecar",
    "satismeter_app",
    # Failed admin logins limited per client address (docs/security.md).
    "axes",
    # The example project's demo seeder (`manage.py satismeter_demo`); not part of the package.
    "project.demo",
]

MIDDLEWARE = [
    # First: the widget's calls skip what they do not need (satismeter_app/middleware.py).
    "satismeter_app.middleware.WidgetFastLane",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out client before a password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Ten wrong passwords from one client address lock it out for 15 minutes (each attempt during
# the lockout starts them again), answered 429 with Retry-After. The address is the app's
# (SATISMETER["TRUSTED_PROXIES"]), IPv6 by its /64. A successful login does not clear the
# count: an attacker with an account of their own could otherwise guess on forever.
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "satismeter_app.api.throttling.client_key"
AXES_LOCKOUT_CALLABLE = "satismeter_app.api.throttling.admin_lockout"

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if "DATABASE_URL" not in env:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
# A persistent connection that died (database restart, failover, idle timeout) is replaced
# at the start of the next request instead of failing it, at the cost of a `SELECT 1` round
# trip in each request that uses the database (docs/deployment.md).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The widget's query is prepared on each connection after 5 runs (satismeter_app/
    # prepared.py); PREPARED_STATEMENTS=false behind a pooler that cannot keep them
    # (PgBouncer before 1.21 in transaction mode). Django's own queries are never prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        5 if env.bool("PREPARED_STATEMENTS", default=True) else None
    )
# A read replica (a PostgreSQL hot standby of DATABASE_URL): the dashboard, the exports, the
# statistics and the v3 reads read from it; everything else, and every write, from the
# primary (satismeter_app/routers.py; lag and its consequences: docs/deployment.md).
if "REPLICA_DATABASE_URL" in env:
    DATABASES["replica"] = env.db("REPLICA_DATABASE_URL")
    for _option in ("ATOMIC_REQUESTS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
        DATABASES["replica"][_option] = DATABASES["default"][_option]
    if "OPTIONS" in DATABASES["default"]:
        DATABASES["replica"].setdefault("OPTIONS", {}).update(DATABASES["default"]["OPTIONS"])
    # The tests' database is the primary's; the replica reads it (Django's test mirrors).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Without a replica the router sends nothing anywhere: every query goes to the primary.
DATABASE_ROUTERS = ["satismeter_app.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that stops answering costs a request one second, not the OS's TCP timeout
            # (requests are then served without the cache: docs/security.md).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis (or any broker URL) when given, else kombu's file-system transport so that the
# demo's worker and beat run without a broker server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# Publishing tries the broker once instead of retrying for seconds: a request that enqueues
# outbox work must not hang while Redis is down (the outbox's sweep sends those rows later).
# Workers reconnect by their own policy (CELERY_BROKER_CONNECTION_MAX_RETRIES).
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"max_retries": 0}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged task to another worker after this many seconds: longer than
    # any of the app's tasks runs, or a task still running would start a second time. A worker
    # that died leaves its rows to the outbox's sweep (DELIVERY_CLAIM_TIMEOUT) long before.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = 3600
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
    _queue_dir.mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
# One queue per job (satismeter_app/queues.py): deliveries, email, housekeeping. A worker without
# -Q consumes them all and "celery" (the demo's); production runs one worker per queue
# (docs/deployment.md, "Queues and workers").
CELERY_TASK_ROUTES = queues.TASK_ROUTES
CELERY_TASK_QUEUES = queues.task_queues("celery")
# A task is acknowledged when it has run, not when it is received: a worker killed mid-task
# leaves it to the broker to hand out again. One task per worker process at a time, so that a
# slow one never holds others back in its prefetch buffer.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# When a worker loses the broker, the broker hands its unacknowledged tasks to another worker;
# the worker stops those it is running rather than run them twice (the outbox's claims and
# Segment's messageIds make a repeated send harmless either way).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# A worker or beat started before the broker waits for it instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The outbox's sweep: re-enqueues deliveries that are due (new ones whose task the broker lost,
# retries whose time has come) or stuck in a dead worker's claim.
CELERY_BEAT_SCHEDULE: dict = {
    "satismeter-sweep-deliveries": {
        "task": "satismeter_app.tasks.sweep_deliveries",
        "schedule": env.float("SATISMETER_SWEEP_SECONDS", default=30.0),
    },
    # Email reminders (docs/email.md): hourly; the (survey, user, period) row keeps it once.
    "satismeter-send-reminders": {
        "task": "satismeter_app.tasks.send_reminders",
        "schedule": env.float("SATISMETER_REMINDER_SECONDS", default=3600.0),
    },
    # Staff email (docs/staff-email.md): detractor alerts every minute (each subscription's
    # interval decides when its next alert may go), digests hourly (each goes out once after
    # midnight in the project's time zone, once per period).
    "satismeter-send-staff-alerts": {
        "task": "satismeter_app.tasks.send_staff_alerts",
        "schedule": env.float("SATISMETER_STAFF_ALERT_SECONDS", default=60.0),
    },
    "satismeter-send-staff-digests": {
        "task": "satismeter_app.tasks.send_staff_digests",
        "schedule": env.float("SATISMETER_STAFF_DIGEST_SECONDS", default=3600.0),
    },
    # Segment, inbound: forget the messageIds kept to skip messages delivered twice.
    "satismeter-forget-segment-message-ids": {
        "task": "satismeter_app.tasks.forget_segment_message_ids",
        "schedule": 3600.0,
    },
}
CELERY_TIMEZONE = "UTC"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The example project's own files (its favicon), beside the apps' static folders.
STATICFILES_DIRS = [BASE_DIR / "project" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# No REST_FRAMEWORK or SPECTACULAR_SETTINGS: the app's views set their own authentication,
# permissions, throttles, renderers and OpenAPI inspector, and its /api/schema/ and /api/docs/
# carry their own title and options, so a host's settings for its own API change none of them.

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="surveys@localhost")

SATISMETER = {
    "PUBLIC_BASE_URL": env.str("SATISMETER_PUBLIC_BASE_URL", default="http://127.0.0.1:8000"),
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Logs go to the console (stderr), where gunicorn, systemd or a container collects them. Every
# unexpected error leaves one ERROR record with its traceback: the app's API views log theirs
# on "satismeter_app"; Django logs those of its other views (the admin, the email pages) on
# "django.request", whose default handlers print only with DEBUG on (and mail ADMINS).
# Secrets and personal data stay out of both: see docs/deployment.md.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # With DEBUG on, Django's own console handler already prints django.request.
        "production_console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["require_debug_false"],
            "level": "ERROR",
        },
    },
    "loggers": {
        "satismeter_app": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
        "django.request": {"handlers": ["production_console"]},
    },
}
