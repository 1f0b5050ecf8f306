"""Webhook SSRF: a producer's webhook may not point into the office's network. Loopback,
private, link-local, multicast, unspecified and reserved addresses are refused at registration
(literals, ``localhost``) and at delivery after resolving the name, where the connection goes
to the very address that was checked; redirects are not followed;
``OCOP_WEBHOOK_ALLOW_PRIVATE=1`` lifts the check."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import pytest

from tests.api_support import bearer, client
from tests.support import BINH_MINH, World, make_app
from workflow import registry
from workflow.config import Settings
from workflow.errors import InvalidInput
from workflow.messaging.channels import channels_for
from workflow.messaging.channels.base import DeliveryError, Outgoing, PermanentFailure
from workflow.messaging.channels.targets import CheckedBackend, RefusedTarget, refusal
from workflow.messaging.channels.webhook import SIGNATURE_HEADER, WebhookChannel, verify
from workflow.store.db import write_transaction

NOT_PUBLIC = [
    "http://127.0.0.1:8080/hook", "http://127.1/hook", "http://2130706433/hook",
    "http://0x7f000001/hook", "http://localhost:9000/hook", "http://LOCALHOST./hook",
    "http://api.localhost/hook", "http://10.0.0.5/hook", "http://172.16.3.4/hook",
    "https://192.168.1.10/hook", "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:8000/", "http://224.0.0.251/", "http://240.0.0.1/", "http://100.64.0.1/",
    "http://[::1]:8080/hook", "http://[fe80::1]/hook", "http://[fd00::5]/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://[::ffff:10.0.0.1]/hook", "http://[::]/",
    "http://[ff02::1]/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/",
    "http://user@127.0.0.1:80/hook",
]
PUBLIC = ["https://hooks.example.vn/ocop", "http://93.184.216.34/hook",
          "https://[2606:2800:220:1:248:1893:25c8:1946]/hook", "https://127.0.0.1.nip.io/h"]


def add(world: World, webhook: str, allow_private: bool = False) -> int:
    with write_transaction(world.app.db) as conn:
        return registry.add_producer(conn, world.clock.now(), "HTX Webhook", "cooperative",
                                     None, BINH_MINH, webhook=webhook,
                                     allow_private=allow_private)


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_a_non_public_webhook_is_refused_at_registration_with_a_sentence(
        world: World, url: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        add(world, url)
    assert refused.value.code == "webhook_not_public"
    for lang in ("vi", "en"):
        sentence = refused.value.text(lang)
        assert sentence.endswith(".") and sentence.count(". ") == 0, sentence
        assert url in sentence and "{" not in sentence


@pytest.mark.parametrize("url", PUBLIC)
def test_a_public_address_or_a_name_is_accepted_at_registration(world: World, url: str) -> None:
    """A name is not looked up at registration (``127.0.0.1.nip.io`` included): what it
    resolves to can change, so the delivery judges it."""
    assert add(world, url) > 0


def test_the_allow_flag_accepts_a_loopback_webhook_at_registration(world: World) -> None:
    assert add(world, "http://127.0.0.1:8080/hook", allow_private=True) > 0
    assert Settings.from_env({"OCOP_WEBHOOK_ALLOW_PRIVATE": "1"}).webhook_allow_private
    assert not Settings.from_env({}).webhook_allow_private


def test_the_api_refuses_a_loopback_webhook_with_422_and_accepts_it_when_allowed(
        world: World) -> None:
    body = {"name": "HTX mới", "kind": "cooperative", "commune": BINH_MINH,
            "webhook": "http://[::ffff:127.0.0.1]:9/hook"}
    headers = bearer(world.tokens["commune1"])
    with client(world.app) as api:
        answer = api.post("/api/v1/producers", headers=headers, json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "webhook_not_public"
        assert answer.json()["detail"].endswith("."), answer.json()
    allowing = replace(world.app, settings=replace(world.app.settings,
                                                   webhook_allow_private=True))
    with client(allowing) as api:
        made = api.post("/api/v1/producers", headers=headers, json=body)
        assert made.status_code == 201, made.text
        assert made.json()["webhook"] == body["webhook"]


@pytest.mark.parametrize(("text", "what"), [
    ("127.0.0.2", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("169.254.0.9", "link-local"), ("fe80::9", "link-local"), ("224.1.2.3", "multicast"),
    ("0.0.0.0", "unspecified"), ("10.1.2.3", "private"), ("fc00::1", "private"),
    ("::ffff:192.168.0.1", "private"), ("100.64.1.1", "non-public"),
    ("93.184.216.34", None), ("2606:4700::1111", None)])
def test_each_kind_of_address_is_named(text: str, what: str | None) -> None:
    assert refusal(ipaddress.ip_address(text)) == what


# -- delivery ------------------------------------------------------------------------------


class Server:
    """A real HTTP server on 127.0.0.1 recording what reaches it; ``/redirect`` answers 302."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.bodies: list[tuple[bytes, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.paths.append(self.path)
                server.bodies.append((body, self.headers[SIGNATURE_HEADER] or ""))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                else:
                    self.send_response(204)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.http.server_port)


@contextmanager
def serving() -> Iterator[Server]:
    server = Server()
    thread = threading.Thread(target=server.http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.http.shutdown()
        server.http.server_close()


def message(url: str) -> Outgoing:
    return Outgoing("m-1", "case_registered", "webhook", url, "vi", "OCOP-1", "Subject",
                    "Body", {}, secret="s3cret")


def fake_dns(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """``socket.getaddrinfo`` answering ``answers`` for any name (literals still parse);
    returns the names looked up."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(str(host))
            return real(host, port, *args, **kwargs)
        except ValueError:
            asked.append(str(host))
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, int(port or 0))) for a in answers]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_public_looking_name_resolving_to_loopback_is_refused_at_delivery(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``hooks.example.vn`` answers 127.0.0.1, where a server listens: nothing reaches it, and
    the failure is permanent (the message is marked failed, not retried)."""
    with serving() as server:
        asked = fake_dns(monkeypatch, "127.0.0.1")
        channel = WebhookChannel()
        with pytest.raises(RefusedTarget) as refused:
            channel.send(message(f"http://hooks.example.vn:{server.port}/hook"))
        channel.close()
    assert isinstance(refused.value, PermanentFailure)
    assert "hooks.example.vn" in str(refused.value) and "127.0.0.1" in str(refused.value)
    assert "loopback" in str(refused.value)
    assert asked == ["hooks.example.vn"] and server.paths == []


def test_one_private_address_among_public_ones_refuses_the_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, "93.184.216.34", "::ffff:10.0.0.7")
    with pytest.raises(RefusedTarget, match="resolves to ::ffff:a00:7, a private address"):
        WebhookChannel().send(message("https://hooks.example.vn/hook"))


def test_a_loopback_literal_is_refused_at_delivery_too() -> None:
    """A row written before the check (or by hand) is still refused when sent."""
    with serving() as server:
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]", "localhost"):
            with pytest.raises(RefusedTarget):
                WebhookChannel().send(message(f"http://{host}:{server.port}/hook"))
    assert server.paths == []


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers a public address once, then 127.0.0.1. The name is
    resolved once and the socket is opened to the public address that passed the check."""
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(str(host))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    connected: list[str] = []

    def connect_tcp(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        connected.append(host)
        raise httpcore.ConnectError("no network in this test")

    backend = CheckedBackend()
    monkeypatch.setattr(backend.inner, "connect_tcp", connect_tcp)
    with pytest.raises(httpcore.ConnectError):
        backend.connect_tcp("rebind.example.vn", 443)
    assert lookups == ["rebind.example.vn"] and connected == ["93.184.216.34"]


def test_an_unresolvable_name_is_a_retryable_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(DeliveryError) as failed:
        WebhookChannel().send(message("https://hooks.example.vn/hook"))
    assert not isinstance(failed.value, PermanentFailure)


def test_the_allow_flag_delivers_to_a_loopback_receiver() -> None:
    settings = Settings.from_env({"OCOP_WEBHOOK_ALLOW_PRIVATE": "1"})
    channel = channels_for(replace(settings, mail_folder="/nonexistent"))["webhook"]
    with serving() as server:
        channel.send(message(f"http://127.0.0.1:{server.port}/hook"))
        channel.send(message(f"http://localhost:{server.port}/hook"))
    assert server.paths == ["/hook", "/hook"]
    body, signature = server.bodies[0]
    assert verify("s3cret", body, signature)


def test_redirects_are_not_followed() -> None:
    """A 302 is a permanent failure; the Location is never requested."""
    with serving() as server, pytest.raises(PermanentFailure, match="redirect"):
        WebhookChannel(allow_private=True).send(
            message(f"http://127.0.0.1:{server.port}/redirect"))
    assert server.paths == ["/redirect"]


def test_the_allow_flag_reaches_the_channel_from_settings() -> None:
    app = make_app("sqlite://", webhook_allow_private=True)
    try:
        with serving() as server:
            app.relay.channels["webhook"].send(message(f"http://127.0.0.1:{server.port}/x"))
        assert server.paths == ["/x"]
    finally:
        app.close()
