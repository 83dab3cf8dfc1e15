"""The shared-token check for writes, on when the CATALOG_TOKEN setting is non-empty."""

import secrets

from django.conf import settings
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request


class CatalogTokenAuthentication(authentication.BaseAuthentication):
    """Require `Authorization: Token <CATALOG_TOKEN>` on writes; reads stay open."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[None, str] | None:
        token = settings.CATALOG_TOKEN  # read per request so tests can override it
        if not token or request.method in permissions.SAFE_METHODS:
            return None
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            raise exceptions.NotAuthenticated()
        if len(parts) != 2 or not secrets.compare_digest(parts[1], token.encode()):
            raise exceptions.AuthenticationFailed("Invalid token.")
        # There are no users: the request is simply allowed.
        return (None, token)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
