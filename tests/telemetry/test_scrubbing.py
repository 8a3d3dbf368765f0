from __future__ import annotations

import pytest

from aiops.telemetry.scrubbing import STACK_LIMIT, scrub, scrub_stack

SECRETS = [
    ("password=hunter2&next=/", "hunter2"),
    ("GET /login?user=bob&access_token=ya29.a0AfH6SMB&x=1", "ya29.a0AfH6SMB"),
    ('{"api_key": "sk_live_51HxYz", "name": "x"}', "sk_live_51HxYz"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "eyJhbGci"),
    ("headers={'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='}", "dXNlcjpw"),
    ("could not connect to postgres://app:s3cr3t@db:5432/shop", "s3cr3t"),
    ("using key AKIAIOSFODNN7EXAMPLE for upload", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUt"),
    ("Cookie: sessionid=q8w9e7r6t5; csrftoken=zxcvb", "q8w9e7r6t5"),
    ("    db_password = 'correct horse'", "correct horse"),
    ("client_secret: abcdef123456", "abcdef123456"),
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1L\n"
        "-----END RSA PRIVATE KEY-----\n",
        "MIIEowIBAAKCAQEAu1SU1L",
    ),
    ("cut: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0", "MIIEvQIBADAN"),
    (
        "rejected eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl",
        "eyJzdWIiOiIxMjM0NSJ9",
    ),
    ("login failed: password is hunter2", "hunter2"),
    ("the token was abc123def", "abc123def"),
    ("mysql -u app pass=hunter2 -h db", "hunter2"),
    ("GET /cb?user%3Dbob%26password%3Dhunter2", "hunter2"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_are_replaced(text, secret):
    scrubbed = scrub(text)

    assert secret not in scrubbed
    assert "[REDACTED]" in scrubbed


def test_ordinary_text_is_kept():
    text = 'ValueError: invalid literal for int() with base 10: "abc" at line 3'

    assert scrub(text) == text


def test_long_stack_keeps_its_end():
    stack = "Traceback\n" + "frame\n" * 5_000 + "KeyError: 'sku'"

    scrubbed = scrub_stack(stack)

    assert len(scrubbed) <= STACK_LIMIT
    assert scrubbed.endswith("KeyError: 'sku'")


def test_names_lose_control_characters():
    from aiops.telemetry.scrubbing import clean_name

    assert clean_name("shop\x00\n/payment\t") == "shop /payment"
