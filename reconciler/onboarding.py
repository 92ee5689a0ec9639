"""The sign-in message a new account's person gets (workspace.yaml's `onboarding:`): its
template, checked as the directory loads and filled in at apply, and the RFC 2822 message
the Gmail API sends. Imports nothing of the Git side (the checks use it)."""

from __future__ import annotations

import base64
import string
from email.message import EmailMessage
from pathlib import Path

from reconciler.files import FileTooLarge, RefusedFile, outside_problem, read_regular

SIGN_IN_URL = "https://accounts.google.com/"
PLACEHOLDERS = ("name", "email", "password", "sign_in_url")
MAX_TEMPLATE_BYTES = 64 * 1024
# The scope the message is sent with, as `onboarding.from` (domain-wide delegation).
GMAIL_SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send"

DEFAULT_TEMPLATE = """\
Hello,

A Google account has been created for {name}: {email}

Temporary password: {password}

Sign in at {sign_in_url} with the address and this password; Google asks for a new
password at the first sign-in. Please hand these details to {name} in person or over a
channel you trust, and delete this message afterwards.
"""


class TemplateError(ValueError):
    """The template cannot be read; the message says why (without the setting's name)."""


def load_template(root: Path, setting: str | None) -> str:
    """The template `onboarding.template` names (relative to the state directory `root`,
    a regular file inside it, UTF-8), or the built-in one; TemplateError otherwise."""
    if setting is None:
        return DEFAULT_TEMPLATE
    outside = outside_problem(setting)
    if outside:
        raise TemplateError(f"'{setting}' {outside}: name a file in the state directory")
    try:
        data = read_regular(root / setting, MAX_TEMPLATE_BYTES)
    except FileNotFoundError:
        raise TemplateError(f"'{setting}' does not exist") from None
    except FileTooLarge:
        raise TemplateError(f"'{setting}' is over {MAX_TEMPLATE_BYTES} bytes") from None
    except RefusedFile as exc:
        raise TemplateError(f"'{setting}' is {exc.strerror}") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise TemplateError(f"'{setting}' cannot be read: {why}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"'{setting}' is not UTF-8 text") from None


def template_problems(text: str) -> list[str]:
    """What is wrong with a template: each placeholder that is not one of PLACEHOLDERS
    (by its line in the template), or a lone brace. Empty when it is fine."""
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            parts = list(string.Formatter().parse(line))
        except ValueError:
            found.append(
                f"line {number}: a lone {{ or }}: write {{{{ and }}}} for braces, or a "
                f"placeholder ({_known()})"
            )
            continue
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "")
                shown += (f":{spec}" if spec else "") + "}"
                found.append(f"line {number}: unknown placeholder {shown}; known: {_known()}")
    return found


def _known() -> str:
    return ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def render(template: str, *, name: str, email: str, password: str) -> str:
    """The message's text: the template with its placeholders filled in."""
    return template.format(name=name, email=email, password=password, sign_in_url=SIGN_IN_URL)


def compose(sender: str, to: str, subject: str, body: str) -> str:
    """The whole message, as the Gmail API's `raw` (base64url)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
