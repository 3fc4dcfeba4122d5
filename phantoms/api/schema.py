"""The OpenAPI schema tells the truth: every operation lists the errors it can answer, in the one shape."""

from drf_spectacular.openapi import AutoSchema

from phantoms.api.serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "A path, query or body parameter is invalid; `error.fields` names it.",
    "401": "No credentials, or unknown, revoked or expired ones.",
    "403": "The caller's role does not allow this.",
    "404": "No such object, or it belongs to another team.",
    "409": "The object is not in a state that allows this.",
    "413": "The body is larger than the API accepts.",
    "415": "The body is not JSON.",
    "422": "The Idempotency-Key was used before with a different request.",
    "429": "Too many requests; `Retry-After` says when to come back.",
}


class PhantomsAutoSchema(AutoSchema):
    """Adds the errors every operation can answer; a view lists the ones only some of its actions
    answer in `extra_error_codes` ({action or method: (409, ...)})."""

    def _error_codes(self) -> list[str]:
        has_body = self.method in ("POST", "PUT", "PATCH")
        takes_input = "{" in self.path or has_body or getattr(self.view, "filterset_class", None) is not None
        codes = ["400"] if takes_input else []
        codes += ["401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if has_body:
            # Any body may be too large (phantoms.middleware); only a body the view reads can be of the wrong type.
            codes.append("413")
            if self.get_request_serializer() is not None:
                codes.append("415")
        codes += [str(code) for code in getattr(self.view, "extra_error_codes", {}).get(
            getattr(self.view, "action", None) or self.method.lower(), ())]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS.get(code, "Error.")
                responses[code] = response
        return responses
