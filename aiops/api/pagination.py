from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """LimitOffsetPagination that says "400" to a bad limit or offset.

    DRF's own quietly falls back to defaults, so a typo returns a page nobody
    asked for; here every parameter is validated, as everywhere else in the API.
    """

    default_limit = 50
    max_limit = 500

    def _number(self, request, name: str, minimum: int, maximum: int | None):
        raw = request.query_params.getlist(name)
        if not raw:
            return None
        if len(raw) > 1:
            raise ValidationError({name: [f"give {name} once"]})
        try:
            value = int(raw[0])
        except ValueError:
            raise ValidationError({name: [f"{name} must be a whole number"]}) from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum else f"at least {minimum}"
            raise ValidationError({name: [f"{name} must be {bound}"]})
        return value

    def get_limit(self, request):
        value = self._number(request, self.limit_query_param, 1, self.max_limit)
        return self.default_limit if value is None else value

    def get_offset(self, request):
        value = self._number(request, self.offset_query_param, 0, None)
        return 0 if value is None else value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_limit)
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0)
        return parameters
