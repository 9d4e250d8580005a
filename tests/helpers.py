"""Helpers the tests share that are not fixtures."""

import base64


def auth_headers(scheme: str, key: str) -> dict[str, str]:
    """A secret API key sent the way SatisMeter's clients send it: ``bearer``, ``basic`` (the
    key as user name, no password) or ``authkey`` (the ``AuthKey`` header)."""
    if scheme == "bearer":
        return {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if scheme == "basic":
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    return {"HTTP_AUTHKEY": key}
