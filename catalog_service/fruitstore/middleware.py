"""The request journal, and Django's common middleware answering a missing trailing slash as
the store's service does."""

import logging
import os
from collections.abc import Callable

from django.conf import settings
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


class RequestJournal:
    """Append `METHOD PATH STATUS` to the request journal for every request, before its answer
    goes out: whoever has the answer finds the line there. (gunicorn's access log is written
    after the answer is sent, so a client counting from it can read it too early.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        line = f"{request.method} {request.get_full_path()} {response.status_code}\n"
        # One write to a file opened for appending: the lines of concurrent requests never mix.
        journal = os.open(settings.CATALOG_REQUEST_JOURNAL,
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(journal, line.encode())
        finally:
            os.close(journal)
        return response
