"""The widget routes' fast path (api/serializers.py, FastPath) against their serializers.

For any body, the fast path either declines it or validates it exactly as the route's
serializer would: the same data, and nothing the serializer refuses. So a 400 is always the
serializer's, in its words, and a call the fast path takes is the call the serializer took.
"""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satismeter_app.api import serializers
from satismeter_app.api.widget import PublicWidgetView

ROUTES = sorted(
    {view.accepts for view in PublicWidgetView.__subclasses__() if hasattr(view, "accepts")},
    key=lambda cls: cls.__name__,
)

texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "  padded  ", "a\x00b", "\t", "x" * 64, "x" * 65, "x" * 256]),
    st.text(min_size=30, max_size=300),
)
scalars = st.one_of(
    texts,
    st.integers(min_value=-3, max_value=12),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=25),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
    ),
    max_leaves=30,
)


def bodies(serializer_class: type) -> st.SearchStrategy[dict[str, Any]]:
    names = [*serializer_class().fields, "unknownKey"]
    # Most keys take a value of their own kind half the time: plain, valid-looking calls.
    likely = {
        "writeKey": st.just("wk_" + "a" * 29),
        "userId": st.one_of(st.just("user-1"), st.none()),
        "type": st.sampled_from(["load", "identify", "page", "track", "group", "other"]),
        "traits": st.dictionaries(st.text(max_size=8), scalars, max_size=3),
        "languages": st.lists(st.sampled_from(["en", "de-DE", " fr ", ""]), max_size=22),
        "rating": st.integers(min_value=-1, max_value=11),
        "campaign": st.sampled_from(["12", "x" * 33, ""]),
        "method": st.sampled_from(["In-App", "In-app", "Email", "nope"]),
    }

    def value_of(name: str) -> st.SearchStrategy[Any]:
        if name in likely:
            return st.one_of(likely[name], likely[name], values)
        return values

    return st.lists(st.sampled_from(names), max_size=len(names), unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: value_of(key) for key in keys})
    )


def serializer_answer(serializer_class: type, body: dict[str, Any]) -> dict[str, Any] | None:
    serializer = serializer_class(data=body)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@pytest.mark.parametrize("serializer_class", ROUTES, ids=lambda cls: cls.__name__)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_takes_a_body_only_as_the_serializer_does(serializer_class, data):
    body = data.draw(bodies(serializer_class))
    fast = serializers.FastPath(serializer_class)(body)
    if fast is not None:
        assert fast == serializer_answer(serializer_class, body)
        assert list(fast) == list(serializer_answer(serializer_class, body) or {})


WIDGET_JS_CALLS = [
    # What widget.js and the snippets send on a page view, a track and a group call.
    {"writeKey": "wk_1", "userId": "u1", "traits": {"email": "a@example.com", "plan": "pro"}},
    {"writeKey": "wk_1", "anonymousId": "anon-1", "url": "https://app.example.com/x"},
    {"writeKey": "wk_1", "userId": "u1", "type": "track", "event": "Signed up", "properties": {}},
    {"writeKey": "wk_1", "userId": "u1", "type": "group", "groupId": "g1", "traits": {"n": 1}},
    {"writeKey": "wk_1", "userId": "u1", "languages": ["de-DE", "en"], "userHash": "ab" * 32},
]


@pytest.mark.parametrize("body", WIDGET_JS_CALLS)
def test_the_calls_of_a_page_view_take_the_fast_path(body):
    fast = serializers.FastPath(serializers.WidgetCallSerializer)(body)
    assert fast is not None
    assert fast == serializer_answer(serializers.WidgetCallSerializer, body)


def test_a_response_and_a_display_take_the_fast_path():
    display = {"writeKey": "wk_1", "userId": "u1", "campaign": "3"}
    start = {**display, "rating": 9, "method": "In-App", "language": "en"}
    save = {"feedback": "  Great support ", "completed": True}
    for serializer_class, body in (
        (serializers.DisplaySerializer, display),
        (serializers.NewResponseSerializer, start),
        (serializers.ResponseUpdateSerializer, save),
    ):
        fast = serializers.FastPath(serializer_class)(body)
        assert fast is not None, serializer_class.__name__
        assert fast == serializer_answer(serializer_class, body)


def test_bodies_the_serializer_refuses_are_declined():
    widget = serializers.FastPath(serializers.WidgetCallSerializer)
    for body in (
        {"writeKey": "wk_1"},  # neither userId nor anonymousId: validate() refuses it
        {"writeKey": "wk_1", "userId": "u1", "typo": 1},
        {"writeKey": "wk_1", "userId": "u1", "type": "track"},  # no event
        {"writeKey": "", "userId": "u1"},
        {"writeKey": "wk_1", "userId": "x" * 256},
    ):
        assert widget(body) is None
        assert serializer_answer(serializers.WidgetCallSerializer, body) is None
