"""The tests' own settings: a host project as the README's "Adding the app" describes it,
not the example project's, so that the app is tested as a host runs it.

SQLite and a local-memory cache by default; ``DATABASE_URL`` (PostgreSQL in CI) and
``REDIS_URL`` switch to the real servers. No network beyond loopback: every outside URL the
app knows is a setting, and the tests point them at servers they start themselves.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ

from satismeter_app import queues

env = environ.Env()
VAR_DIR = Path(env.str("SATISMETER_VAR_DIR", default=tempfile.mkdtemp(prefix="satismeter-tests-")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = False
SECRET_KEY = "tests-only-secret-key-with-at-least-32-characters"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "satismeter_app",
    "axes",
]

MIDDLEWARE = [
    # First: the widget's calls skip what they do not need (satismeter_app/middleware.py).
    "satismeter_app.middleware.WidgetFastLane",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# django-axes as docs/security.md tells a host to add it, fed the app's client address.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_CLIENT_IP_CALLABLE = "satismeter_app.api.throttling.client_key"
AXES_LOCKOUT_CALLABLE = "satismeter_app.api.throttling.admin_lockout"

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tests.sqlite3'}")}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # As the example project (project/settings.py): the widget's query is prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
# The app's router, as docs/deployment.md has a host list it; with no replica it routes nothing.
DATABASE_ROUTERS = ["satismeter_app.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Tests that need a worker start one with a broker of their own (tests/delivery/harness.py);
# everywhere else tasks are only enqueued, to a broker nobody reads.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"max_retries": 0}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ROUTES = queues.TASK_ROUTES
CELERY_TASK_QUEUES = queues.task_queues("celery")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# Hashing passwords slowly is a production concern.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

SPECTACULAR_SETTINGS = {
    "TITLE": "django-satismeter API",
    "VERSION": "tests",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "surveys@example.test"

# The suite's stand-ins for Segment, Slack and webhook receivers listen on loopback, which a
# real installation refuses (tests/security/test_webhooks.py turns it off again).
SATISMETER = {"PUBLIC_BASE_URL": "http://testserver", "ALLOW_PRIVATE_DESTINATIONS": True}

os.environ.setdefault("SATISMETER_VAR_DIR", str(VAR_DIR))
