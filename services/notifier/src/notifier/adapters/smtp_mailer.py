"""Send plain-text mail over SMTP (plain, STARTTLS or implicit TLS), with retries."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from notifier.adapters.retry import RetryPolicy, TransientDeliveryError
from notifier.domain.deliveries import DeliveryResult
from notifier.domain.mail import Mail

Security = Literal["plain", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
# RFC 5321 limits a line to 1000 octets including CRLF.
_SMTP_MAX_LINE = 998


class Mailer(Protocol):
    """Port: hand one mail to the mail server, retrying transient failures until `deadline`.

    Never raises for a delivery problem: SMTP 5xx answers and malformed messages come back
    as permanent failures, 4xx answers and connection problems as transient ones.
    """

    def send(self, mail: Mail, *, deadline: float) -> DeliveryResult: ...


@dataclass(frozen=True)
class SmtpEndpoint:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """`smtp://host:port`, `smtp+starttls://user:pass@host:587` or `smtps://host:465`."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(_SCHEMES)}, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("no host")
    security, default_port = _SCHEMES[parts.scheme]
    if parts.username and security == "plain":
        # Credentials over an unencrypted connection would be readable by anyone on the path.
        raise ValueError("credentials need smtp+starttls:// or smtps://")
    return SmtpEndpoint(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpMailer:
    def __init__(self, endpoint: SmtpEndpoint, *, retry: RetryPolicy, timeout_seconds: float) -> None:
        self._endpoint = endpoint
        self._retry = retry
        self._timeout = timeout_seconds
        # Built once: loading the trust store costs tens of milliseconds of CPU, which per mail
        # was most of what the notifier spent. A plain smtp:// endpoint needs none.
        self._tls = ssl.create_default_context() if endpoint.security != "plain" else None

    def send(self, mail: Mail, *, deadline: float) -> DeliveryResult:
        try:
            message = _email_message(mail)
        except ValueError as malformed:
            return DeliveryResult.permanent(f"malformed mail: {malformed}", 0)
        attempts = 0

        def attempt() -> DeliveryResult:
            nonlocal attempts
            attempts += 1
            try:
                self._submit(message)
            except smtplib.SMTPRecipientsRefused as refused:
                codes = [code for code, _ in refused.recipients.values()]
                return _by_code(min(codes, default=550), f"recipient refused: {refused.recipients}", attempts)
            except smtplib.SMTPResponseException as error:
                return _by_code(error.smtp_code, f"SMTP {error.smtp_code}: {error.smtp_error!r}", attempts)
            except (smtplib.SMTPException, OSError) as error:
                raise TransientDeliveryError(f"{type(error).__name__}: {error}") from error
            return DeliveryResult.delivered("accepted", attempts)

        try:
            return self._retry.run(attempt, deadline=deadline)
        except TransientDeliveryError as error:
            return DeliveryResult.transient(str(error), attempts)

    def _submit(self, message: EmailMessage) -> None:
        endpoint = self._endpoint
        if endpoint.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                endpoint.host, endpoint.port, timeout=self._timeout, context=self._tls
            )
        else:
            client = smtplib.SMTP(endpoint.host, endpoint.port, timeout=self._timeout)
        with client:
            if endpoint.security == "starttls":
                client.starttls(context=self._tls)
            if endpoint.username:
                client.login(endpoint.username, endpoint.password or "")
            client.send_message(message)


def _by_code(code: int, detail: str, attempts: int) -> DeliveryResult:
    # SMTP 4xx means "try again later"; 5xx means "this will not work".
    if 400 <= code < 500:
        raise TransientDeliveryError(detail)
    return DeliveryResult.permanent(detail, attempts)


def _email_message(mail: Mail) -> EmailMessage:
    """Build the MIME message; EmailMessage refuses header values containing CR or LF."""
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = mail.message_id
    for name, value in mail.headers.items():
        message[name] = value
    # Plain 7bit keeps the download link on one unbroken line, for people reading the raw mail
    # (the dev SMTP sink prints it); quoted-printable only when the text needs it.
    plain = mail.body.isascii() and all(len(line) <= _SMTP_MAX_LINE for line in mail.body.splitlines())
    message.set_content(mail.body, cte="7bit" if plain else None)
    return message
