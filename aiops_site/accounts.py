"""The staff account the Quick start hands to a new user."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


@dataclass(frozen=True)
class StaffAccount:
    username: str
    created: bool
    password_file: Path | None
    token_file: Path


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value + "\n")
    path.chmod(0o600)


def ensure_staff_account(
    *, username: str, password: str | None, data_dir: Path
) -> StaffAccount:
    """Create the superuser once, with its API token, and leave the secrets on disk.

    An existing account keeps its password unless one is passed explicitly, so
    restarting the app never locks a user out of a password they changed.
    """
    User = get_user_model()
    password_file = data_dir / "admin_password"
    token_file = data_dir / "admin_token"
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username, is_staff=True, is_superuser=True)
        if created or password:
            chosen = password or secrets.token_urlsafe(12)
            user.set_password(chosen)
            if password:
                # A file left from a generated password would now be wrong.
                password_file.unlink(missing_ok=True)
            else:
                _write_secret(password_file, chosen)
        user.save()
        token, _ = Token.objects.get_or_create(user=user)
    _write_secret(token_file, token.key)
    return StaffAccount(
        username=username,
        created=created,
        password_file=password_file if password_file.exists() else None,
        token_file=token_file,
    )
