"""URL configuration of the fruitstore project."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.static import serve


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve an uploaded file from MEDIA_ROOT, read per request so tests can override it."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("", include("fruits.urls")),
    # This demo/test service runs without a front web server, so it serves the uploads
    # itself, also with DEBUG off (django.conf.urls.static.static() only works with DEBUG on).
    path("media/<path:path>", media, name="media"),
]
