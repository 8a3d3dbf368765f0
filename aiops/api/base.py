"""What every view of the API uses, set on the views themselves.

A host project's ``REST_FRAMEWORK`` settings (or none) must not change who may
read or write incidents, how bodies are parsed or how errors look: the API
carries its own authentication, permissions, parsers, paging and error answers.
"""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, MultiPartParser

from aiops.api.authentication import TokenOrBearerAuthentication
from aiops.api.errors import exception_handler
from aiops.api.pagination import StrictLimitOffsetPagination
from aiops.api.parsers import BoundedJSONParser
from aiops.api.permissions import ReadAuthenticatedWriteStaff


class AiopsAPIMixin:
    # Token first: its WWW-Authenticate header turns "not logged in" into a 401.
    authentication_classes = [TokenOrBearerAuthentication, SessionAuthentication]
    permission_classes = [ReadAuthenticatedWriteStaff]
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    pagination_class = StrictLimitOffsetPagination

    def get_exception_handler(self):
        return exception_handler
