"""Django's common middleware, answering a missing trailing slash as the store's service does."""

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.middleware.common import CommonMiddleware

log = logging.getLogger(__name__)

# The methods whose body a redirect would lose.
WRITES = ("DELETE", "POST", "PUT", "PATCH")


class StoreCommonMiddleware(CommonMiddleware):
    """CommonMiddleware, except that a write to a URL that lacks its trailing slash (POST
    /fruits) is answered 500, as the store's Django answers it, never redirected to /fruits/."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (response.status_code == 404 and request.method in WRITES
                and self.should_redirect_with_slash(request)):
            log.error("%s %s: the URL lacks its trailing slash: answered 500", request.method,
                      request.path)
            return HttpResponseServerError("<h1>Server Error (500)</h1>")
        return super().process_response(request, response)
