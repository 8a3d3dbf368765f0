"""Remove secrets from error messages and stack traces before they are stored.

What is caught: values of keys that look secret (password, token, secret, api_key,
authorization, cookie, session...) in ``key=value``, ``key: value`` and JSON forms,
including inside query strings and URL-encoded; secrets named in prose ("password
is hunter2"); ``Bearer``/``Basic`` credentials; passwords in URLs; PEM blocks
(private keys); JSON Web Tokens; AWS access key ids. Values are replaced, keys
kept, so the trace stays readable.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"
MESSAGE_LIMIT = 1_000
STACK_LIMIT = 8_000

_SECRET_KEY = (
    r"(?:[a-z0-9_\-]*(?:password|passwd|pass|pwd|secret|token|api[_\-]?key|apikey|"
    r"access[_\-]?key|private[_\-]?key|credential|authorization|auth|cookie|"
    r"session(?:id)?|signature|csrf)[a-z0-9_\-]*)"
)
# key = value / key: value / "key": "value"; the value ends at a quote, space,
# ampersand, comma, semicolon or bracket unless it is quoted.
_KEY_VALUE = re.compile(
    r"(?P<key>[\"']?\b" + _SECRET_KEY + r"[\"']?\s*(?:=|:)\s*)"
    r"(?!\[REDACTED\])(?P<value>\"[^\"]*\"|'[^']*'|(?:Bearer|Basic|Token)\s+[^\s\"'&,;]+|[^\s\"'&,;)}\]]+)",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(
    r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/=:]{8,}", re.IGNORECASE
)
_URL_PASSWORD = re.compile(
    r"(?P<prefix>\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^/\s@]+(?=@)", re.IGNORECASE
)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
_COOKIE_HEADER = re.compile(r"(?P<key>\b(?:set-)?cookie\s*:\s*)[^\n]+", re.IGNORECASE)
# A whole PEM block (private keys above all), even cut off by truncation.
_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*(?:PRIVATE KEY|CERTIFICATE|KEY)-----"
    r"(?:.*?-----END [A-Z0-9 ]*-----|.*)",
    re.DOTALL,
)
# JSON Web Tokens: three base64url parts, the first two starting with '{"'.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")
# "password is hunter2", "the token was abc123": a secret named in prose.
_PROSE = re.compile(
    r"(?P<key>\b(?:password|passwd|passphrase|secret|token|api key)\s+"
    r"(?:is|was|=|of)\s+)(?!\[REDACTED\])(?P<value>[^\s\"',;]+)",
    re.IGNORECASE,
)
# URL-encoded key=value (password%3Dhunter2, in logged query strings).
_ENCODED = re.compile(
    r"(?P<key>\b" + _SECRET_KEY + r"(?:%3D|%3A))(?P<value>[^\s&\"',;]+)",
    re.IGNORECASE,
)


def _quote_aware(match: re.Match[str]) -> str:
    value = match.group("value")
    if value[:1] in {'"', "'"}:
        return f"{match.group('key')}{value[0]}{REDACTED}{value[0]}"
    return f"{match.group('key')}{REDACTED}"


def scrub(text: str) -> str:
    if not text:
        return text
    text = _PEM.sub(REDACTED, text)
    text = _JWT.sub(REDACTED, text)
    text = _ENCODED.sub(lambda m: m.group("key") + REDACTED, text)
    text = _KEY_VALUE.sub(_quote_aware, text)
    text = _PROSE.sub(lambda m: m.group("key") + REDACTED, text)
    text = _COOKIE_HEADER.sub(lambda m: m.group("key") + REDACTED, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: m.group("prefix") + REDACTED, text)
    return _AWS_KEY_ID.sub(REDACTED, text)


def truncate(text: str, limit: int, *, keep_tail: bool = False) -> str:
    if len(text) <= limit:
        return text
    marker = "\n...[truncated]...\n"
    if keep_tail:
        # The end of a traceback (the raising frame and the message) matters most.
        return marker + text[-(limit - len(marker)) :]
    return text[: limit - len(marker)] + marker


def scrub_message(text: str) -> str:
    return truncate(scrub(text), MESSAGE_LIMIT)


def scrub_stack(text: str) -> str:
    return truncate(scrub(text), STACK_LIMIT, keep_tail=True)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_name(text: str) -> str:
    """A service or endpoint name without control characters (NUL, newlines,
    tabs): names end up in Prometheus labels, log lines, titles and chat
    messages, where such characters break formats or forge lines."""
    return _CONTROL.sub(" ", text).strip()
