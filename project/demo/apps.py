from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The example project's demo: the ``satismeter_demo`` seeder. Not part of the package."""

    name = "project.demo"
    verbose_name = "django-satismeter demo"
