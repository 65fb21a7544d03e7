"""The demo's alert inbox: a local webhook receiver that checks each delivery's Standard
Webhooks signature and prints the message, standing in for the SOC's chat channel."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from sentinel.alerts.receivers.webhook import secret_key


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Inbox:
    def __init__(self, secret: str, out: TextIO | None = None) -> None:
        self.secret = secret
        self.out = out or sys.stdout
        self.received: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                ok = inbox.verify(self.headers, body)
                self.send_response(204 if ok else 401)
                self.end_headers()
                if ok:
                    inbox.show(json.loads(body))

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self.server.serve_forever, name="demo-inbox", daemon=True)

    def verify(self, headers: Any, body: bytes) -> bool:
        msg_id, ts, sig = (
            headers.get("webhook-id", ""),
            headers.get("webhook-timestamp", ""),
            headers.get("webhook-signature", ""),
        )
        expected = hmac.new(
            secret_key(self.secret), f"{msg_id}.{ts}.".encode() + body, hashlib.sha256
        ).digest()
        given = [s.split(",", 1)[1] for s in sig.split() if s.startswith("v1,")]
        return any(hmac.compare_digest(base64.b64decode(g), expected) for g in given)

    def show(self, payload: dict[str, Any]) -> None:
        self.received.append(payload)
        data = payload.get("data", {})
        bar = "═" * 74
        lines = [bar, f" ALERT ({data.get('severity')}, {data.get('status')}): {data.get('title')}", bar]
        lines += [f" {line}" for line in str(data.get("text", "")).splitlines()[:24]]
        lines.append(bar)
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def start(self) -> Inbox:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
