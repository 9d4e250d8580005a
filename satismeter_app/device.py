"""The device a request comes from, as the response object reports it: ``{"os", "type"}``."""

from functools import lru_cache

from ua_parser import parse

from .design import DeviceType

_TABLET_HINTS = ("ipad", "tablet", "kindle", "silk", "playbook")
_MOBILE_HINTS = ("mobi", "iphone", "ipod", "windows phone", "opera mini")


@lru_cache(maxsize=4096)
def device_type(user_agent: str) -> str:
    """desktop, tablet or mobile. Android without "Mobile" in its agent is a tablet."""
    ua = user_agent.lower()
    if any(hint in ua for hint in _TABLET_HINTS):
        return DeviceType.TABLET
    if "android" in ua:
        return DeviceType.MOBILE if "mobile" in ua else DeviceType.TABLET
    if any(hint in ua for hint in _MOBILE_HINTS):
        return DeviceType.MOBILE
    return DeviceType.DESKTOP


@lru_cache(maxsize=4096)
def operating_system(user_agent: str) -> str:
    family = parse(user_agent).with_defaults().os.family
    return {"Mac OS X": "macOS"}.get(family, family)


def describe(user_agent: str) -> dict[str, str]:
    if not user_agent:
        return {}
    return {"os": operating_system(user_agent), "type": device_type(user_agent)}


@lru_cache(maxsize=1024)
def browser(user_agent: str) -> str:
    """The browser and its major version ("Chrome 120"), or "" when the agent names none.
    Named by the parser's table, so a forged agent cannot put words of its own on a page."""
    agent = parse(user_agent).with_defaults().user_agent
    if agent.family == "Other":
        return ""
    return f"{agent.family} {agent.major}" if agent.major else agent.family
