"""SMTP delivery of a built or saved email: settings from options and env, bounded retries."""

from __future__ import annotations

import copy
import ipaddress
import logging
import os
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage

from digest.email import parse_addresses, parse_message
from digest.errors import DeliveryError, UsageError

log = logging.getLogger(__name__)

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 2.0


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand the message over. The password never shows in a repr."""

    host: str = "localhost"
    port: int = 0  # 0: the usual port for `security` (25, 587 or 465)
    security: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        security = (self.security or "none").lower()
        if security not in SECURITY_MODES:
            raise UsageError(
                f"SMTP security must be one of {', '.join(SECURITY_MODES)}, not {self.security!r}"
            )
        object.__setattr__(self, "security", security)
        if not self.host:
            raise UsageError("no SMTP host: pass --smtp-host or set DIGEST_SMTP_HOST")
        if not self.port:
            object.__setattr__(self, "port", DEFAULT_PORTS[security])
        if not 0 < self.port < 65536:
            raise UsageError(f"SMTP port must be between 1 and 65535, not {self.port}")
        # Fail before any work is done rather than send a password in clear over a network.
        if self.user and security == "none" and not _is_loopback(self.host):
            raise UsageError(
                f"refusing to send the SMTP password unencrypted to {self.host}; "
                "set DIGEST_SMTP_SECURITY to starttls or ssl"
            )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        host: str | None = None,
        port: int | str | None = None,
        security: str | None = None,
        user: str | None = None,
        timeout: float | None = None,
    ) -> SmtpSettings:
        """Options first, then DIGEST_SMTP_HOST/PORT/SECURITY/USER; the password only from
        DIGEST_SMTP_PASSWORD (an option would leave it in shell history and `ps`)."""
        env = os.environ if env is None else env

        def pick(option: object, name: str) -> str | None:
            if option is not None and option != "":
                return str(option)
            return env.get(name) or None

        port_text = pick(port, "DIGEST_SMTP_PORT")
        try:
            port_number = int(port_text) if port_text else 0
        except ValueError:
            raise UsageError(f"SMTP port must be a number, not {port_text!r}") from None
        login = pick(user, "DIGEST_SMTP_USER")
        password = env.get("DIGEST_SMTP_PASSWORD") or None
        if password and not login:
            log.warning("DIGEST_SMTP_PASSWORD is set but no SMTP user; sending without login")
        return cls(
            host=pick(host, "DIGEST_SMTP_HOST") or "localhost",
            port=port_number,
            security=pick(security, "DIGEST_SMTP_SECURITY") or "none",
            user=login,
            password=password if login else None,
            timeout=timeout if timeout is not None else 30.0,
        )


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: a one-line reason, and whether trying again could help."""

    reason: str
    transient: bool


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{code} {text}".split())


def _classify(exc: BaseException) -> _Failure:
    """Map what smtplib and the socket layer raise to a reason and transient/permanent.

    4xx replies are the server saying "not now" (RFC 5321 §4.2.1); 5xx mean "never".
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = exc.recipients.items()
        reason = "; ".join(f"{addr}: {_reply(code, text)}" for addr, (code, text) in replies)
        transient = all(400 <= code < 500 for code, _ in exc.recipients.values())
        return _Failure(f"all recipients refused ({reason})", transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        # Covers connect, HELO, AUTH, MAIL, RCPT and DATA replies alike.
        return _Failure(_reply(exc.smtp_code, exc.smtp_error), 400 <= exc.smtp_code < 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _Failure(f"connection closed by the server ({exc})", True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _Failure(str(exc), False)  # "STARTTLS extension not supported by server."
    if isinstance(exc, smtplib.SMTPException):
        return _Failure(str(exc), False)
    # Before OSError: SSLError is one, but a certificate problem will not fix itself.
    if isinstance(exc, ssl.SSLError):
        return _Failure(f"TLS failed: {exc.reason or exc}", False)
    if isinstance(exc, socket.gaierror):
        return _Failure(f"cannot resolve the host: {exc.strerror}", exc.errno == socket.EAI_AGAIN)
    if isinstance(exc, TimeoutError):
        return _Failure("timed out", True)
    if isinstance(exc, OSError):
        return _Failure(exc.strerror or str(exc) or type(exc).__name__, True)
    raise exc


def _deliver_once(
    message: EmailMessage,
    settings: SmtpSettings,
    context: ssl.SSLContext | None,
) -> dict[str, tuple[int, bytes]]:
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    # smtplib's debug output would print AUTH exchanges (the password, base64): leave it off.
    try:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.user:
            smtp.login(settings.user, settings.password or "")
        refused = smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        # The message was accepted; a failed goodbye must not cause a retry (and a duplicate).
        smtp.close()
    return refused


def send_message(
    message: EmailMessage | bytes,
    settings: SmtpSettings,
    *,
    recipients: str | Iterable[str | Address] | None = None,
    sender: str | Address | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, str]:
    """Send one message; retry transient failures, give up at once on permanent ones.

    `recipients`/`sender` replace the message's To/From (and drop its Cc/Bcc: `--to` means
    exactly these people). Transient failures (4xx replies, refused or dropped connections,
    timeouts) are retried up to `retries` times after the first attempt, waiting `backoff`,
    2×`backoff`, 4×`backoff`… seconds. Returns the recipients the server refused while
    accepting others ({address: reply}); raises DeliveryError when nothing was delivered.
    """
    message = parse_message(message) if isinstance(message, bytes) else copy.deepcopy(message)
    if sender is not None:
        found = parse_addresses(sender)
        if len(found) != 1:
            raise UsageError("give exactly one sender address")
        del message["From"], message["Sender"]
        message["From"] = found
    if recipients is not None:
        to = parse_addresses(recipients)
        if not to:
            raise UsageError("no recipient address given")
        del message["To"], message["Cc"], message["Bcc"]
        message["To"] = to
    if not (message["To"] or message["Cc"] or message["Bcc"]):
        raise UsageError("the message has no recipients: pass --to or set DIGEST_EMAIL_TO")
    if not message["From"]:
        raise UsageError("the message has no From address: pass --from or set DIGEST_EMAIL_FROM")

    context = ssl_context
    if context is None and settings.security != "none":
        context = ssl.create_default_context()
    attempts = max(0, retries) + 1
    for attempt in range(1, attempts + 1):
        try:
            refused = _deliver_once(message, settings, context)
        except Exception as exc:  # _classify re-raises what it does not know: a bug
            failure = _classify(exc)
            reason = _scrub(failure.reason, settings)
            if failure.transient and attempt < attempts:
                delay = backoff * 2 ** (attempt - 1)
                log.warning(
                    "SMTP %s attempt %d of %d failed: %s; retrying in %gs",
                    settings.address,
                    attempt,
                    attempts,
                    reason,
                    delay,
                )
                (time.sleep if sleep is None else sleep)(delay)  # late: tests patch it
                continue
            tries = f" after {attempt} attempts" if attempt > 1 else ""
            # from None: the chained smtplib exception and its frames hold the credentials.
            raise DeliveryError(
                f"could not send the email via {settings.address}{tries}: {reason}"
            ) from None
        result = {
            addr: _scrub(_reply(code, text), settings) for addr, (code, text) in refused.items()
        }
        for addr, reply in result.items():
            log.warning("SMTP %s refused recipient %s: %s", settings.address, addr, reply)
        log.info("email sent via %s (attempt %d)", settings.address, attempt)
        return result
    raise AssertionError("unreachable: the loop returns or raises")


def _scrub(text: str, settings: SmtpSettings) -> str:
    """Belt and braces: a server that echoes what it was sent must not leak the password."""
    if settings.password and len(settings.password) >= 3:
        text = text.replace(settings.password, "***")
    return text
