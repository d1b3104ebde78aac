"""`orchest.get_service` and `orchest.get_services`, as a step calls them."""

import json

import pytest

import orchest
from jupyter_orchest.sdk.services import SESSION_SERVICES

SERVICES = {
    "web": {
        "name": "web",
        "image": "img",
        "ports": [8000],
        "internal_hostname": "web",
        "internal_urls": {"8000": "http://web:8000/"},
        "external_urls": {"8000": "http://127.0.0.1:49153/"},
        "base_paths": {"8000": "/"},
    }
}


def test_a_step_gets_its_sessions_services_with_ports_as_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SESSION_SERVICES, json.dumps(SERVICES))
    web = orchest.get_service("web")
    assert web["internal_hostname"] == "web"
    assert web["internal_urls"] == {8000: "http://web:8000/"}
    assert web["external_urls"] == {8000: "http://127.0.0.1:49153/"}
    assert orchest.get_services() == {"web": web}
    assert orchest.services.get_service("web") == web


def test_unknown_services_and_missing_sessions_are_orchest_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SESSION_SERVICES, json.dumps(SERVICES))
    with pytest.raises(orchest.error.ServiceNotFound, match=r"'db'.*web"):
        orchest.get_service("db")
    monkeypatch.delenv(SESSION_SERVICES)
    with pytest.raises(orchest.error.SessionNotFound, match="without a session that has services"):
        orchest.get_services()
    with pytest.raises(orchest.error.Error):
        orchest.get_service("web")
