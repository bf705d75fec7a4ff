"""A real SMTP server (aiosmtpd) on loopback for the delivery tests; the fixture is in conftest."""

from __future__ import annotations

import socket
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Recorder:
    """An aiosmtpd handler that keeps what arrives and answers DATA from a script."""

    def __init__(self, replies: list[str] | None = None, rcpt: dict[str, str] | None = None):
        self.replies = list(replies or [])
        self.rcpt = rcpt or {}
        self.data_calls = 0
        self.received: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        reply = self.replies.pop(0) if self.replies else "250 Message accepted"
        if reply.startswith("250"):
            self.received.append(envelope)
        return reply


Start = Callable[..., tuple[Recorder, int]]
