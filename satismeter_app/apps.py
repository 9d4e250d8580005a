from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class SatismeterConfig(AppConfig):
    name = "satismeter_app"
    label = "satismeter_app"
    verbose_name = _("NPS surveys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import beat, checks, tasks  # noqa: F401  (checks; the outbox's listener; beat lock)
        from .services import snapshots  # noqa: F401  (drops cached configuration on save)

        if apps.is_installed("drf_spectacular"):
            from .api import schema  # noqa: F401  (OpenAPI extensions)
