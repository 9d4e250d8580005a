"""django-satismeter: self-hostable NPS surveys, compatible with SatisMeter's interfaces."""

__version__ = "0.1.0.dev0"
