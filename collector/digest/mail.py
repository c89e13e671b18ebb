"""The digest as an e-mail (a text part and a simple HTML part) sent through an SMTP relay.

STARTTLS is on by default and required when on: a relay that does not offer it is an error, never a
silent fall-back to plain text. One attempt per digest; a failure is reported and the next digest
tries again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from collector.digest.config import SmtpChannel
from collector.digest.content import Digest
from collector.digest.errors import DeliveryError
from collector.digest.render import render_html, render_text, subject
from collector.http import default_redactor

log = logging.getLogger("saaswatch.digest")


def email_message(channel: SmtpChannel, digest: Digest, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=parseaddr(channel.sender)[1].rpartition("@")[2])
    # RFC 3834: an automatic message, so auto-responders (out-of-office) do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(digest))
    message.add_alternative(render_html(digest), subtype="html")
    return message


def send_email(channel: SmtpChannel, message: EmailMessage) -> None:
    """Send ``message`` through the channel's relay; raise :class:`DeliveryError` on any failure."""
    where = f"e-mail via {channel.host}:{channel.port}"
    redactor = default_redactor()
    redactor.add(channel.secret)
    context = ssl.create_default_context(cafile=str(channel.ca_file) if channel.ca_file else None)
    try:
        smtp = (
            smtplib.SMTP_SSL(channel.host, channel.port, timeout=channel.timeout, context=context)
            if channel.tls
            else smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout)
        )
        with smtp:
            smtp.ehlo()
            if channel.use_starttls:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"{where}: the relay does not offer STARTTLS; use its TLS port (tls: true), or "
                        "set starttls: false only for a relay on a network you trust"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            secret = channel.secret
            if channel.username and secret is not None:
                smtp.login(channel.username, secret.get_secret_value())
            refused = smtp.send_message(message)
        if refused:  # some recipients got it: the digest counts as sent
            log.warning("%s: the relay refused %s", where, ", ".join(sorted(refused)))
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{where}: the relay refused the login of {channel.username} (SMTP {exc.smtp_code}): "
            "check username and password"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in exc.recipients.items())
        raise DeliveryError(f"{where}: the relay refused every recipient: {codes}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryError(
            f"{where}: the relay refused the sender {channel.sender} (SMTP {exc.smtp_code}): "
            "the relay may only accept senders of your domain, or need a login"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        reason = redactor.redact(f"{type(exc).__name__}: {exc}")
        raise DeliveryError(f"{where} failed: {reason}") from None
