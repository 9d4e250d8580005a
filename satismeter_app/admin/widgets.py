"""Form widgets of the app's admin pages."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.text import capfirst

_COLON = ": \u00a0"  # "Date:", "Date :" (French, with a no-break space)


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each named after its field ("Starts at, Date").

    Django's admin labels a date-time field with a ``<label>`` that points at neither input (a
    two-input widget has no single id), so screen readers announce two unnamed text boxes.
    """

    def __init__(self, label: Any, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.label = label

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        parts = (context["date_label"], context["time_label"])  # "Date:", "Time:" translated
        for subwidget, part in zip(context["widget"]["subwidgets"], parts, strict=True):
            part = str(part).rstrip(_COLON)
            subwidget["attrs"]["aria-label"] = f"{capfirst(self.label)}, {part}"
        return context
