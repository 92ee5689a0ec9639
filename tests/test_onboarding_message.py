"""The sign-in message (reconciler/onboarding.py): the template filled in, braces kept, the
problems of a template by line, and the RFC 2822 message the Gmail API is given."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy

from reconciler.onboarding import (
    DEFAULT_TEMPLATE,
    PLACEHOLDERS,
    compose,
    render,
    template_problems,
)


def test_the_template_is_filled_in_and_doubled_braces_are_braces():
    text = render(
        "Hi {name} ({email}): {password} at {sign_in_url}; {{not a placeholder}}\n",
        name="Lena Hoffmann",
        email="lena.hoffmann@example.com",
        password="p4ss",
    )
    assert text == (
        "Hi Lena Hoffmann (lena.hoffmann@example.com): p4ss at https://accounts.google.com/; "
        "{not a placeholder}\n"
    )


def test_the_built_in_template_uses_every_placeholder_and_nothing_else():
    assert template_problems(DEFAULT_TEMPLATE) == []
    for name in PLACEHOLDERS:
        assert "{" + name + "}" in DEFAULT_TEMPLATE


def test_each_problem_is_named_by_its_line():
    text = "ok {name}\n{nmae} and {email!r}\n{password:>10}\nlone } here\n{0}\n"
    assert template_problems(text) == [
        "line 2: unknown placeholder {nmae}; known: {name}, {email}, {password}, {sign_in_url}",
        "line 2: unknown placeholder {email!r}; known: {name}, {email}, {password}, {sign_in_url}",
        "line 3: unknown placeholder {password:>10}; known: {name}, {email}, {password}, "
        "{sign_in_url}",
        "line 4: a lone { or }: write {{ and }} for braces, or a placeholder ({name}, {email}, "
        "{password}, {sign_in_url})",
        "line 5: unknown placeholder {0}; known: {name}, {email}, {password}, {sign_in_url}",
    ]


def test_the_message_is_from_the_sender_to_the_recipient_in_base64url():
    raw = compose("it@example.com", "boss@example.com", "Welcome, Ünal", "Hello\nLine 2\n")
    message = message_from_bytes(base64.urlsafe_b64decode(raw), policy=policy.default)
    assert (message["From"], message["To"]) == ("it@example.com", "boss@example.com")
    assert message["Subject"] == "Welcome, Ünal"
    assert message.get_content() == "Hello\nLine 2\n"
