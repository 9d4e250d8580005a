from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SatismeterConfig(AppConfig):
    name = "satismeter_app"
    label = "satismeter_app"
    verbose_name = _("NPS surveys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
