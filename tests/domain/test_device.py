import pytest

from satismeter_app.device import describe

UAS = {
    "iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "ipad": "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "android_phone": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "android_tablet": "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
}


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ("iphone", {"os": "iOS", "type": "mobile"}),
        ("ipad", {"os": "iOS", "type": "tablet"}),
        ("android_phone", {"os": "Android", "type": "mobile"}),
        ("android_tablet", {"os": "Android", "type": "tablet"}),
        ("mac", {"os": "macOS", "type": "desktop"}),
        ("windows", {"os": "Windows", "type": "desktop"}),
    ],
)
def test_device_from_user_agent(agent: str, expected: dict) -> None:
    assert describe(UAS[agent]) == expected


def test_no_user_agent_no_device() -> None:
    assert describe("") == {}
    assert describe("curl/8.0")["type"] == "desktop"
