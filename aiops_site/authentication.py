from __future__ import annotations

from rest_framework.authentication import TokenAuthentication


class TokenOrBearerAuthentication(TokenAuthentication):
    """DRF token authentication that accepts ``Token <key>`` and ``Bearer <key>``.

    Scripts and tools written for OAuth-style APIs send ``Bearer``; both carry the same
    DRF token, so one table of tokens serves both spellings.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer ":
            request.META["HTTP_AUTHORIZATION"] = "Token " + header[7:]
        return super().authenticate(request)
