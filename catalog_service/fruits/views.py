from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Fruits
from .serializers import FruitSerializer, ImageSerializer

# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class TooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request too large."
    default_code = "too_large"


def check_body_size(request: Request, limit: int) -> None:
    """Refuse a body over `limit` bytes before anything reads it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise TooLarge(f"Request too large: {length} bytes, the limit is {limit}.")


def index(request: HttpRequest) -> HttpResponse:
    """Show the catalog page: every fruit with its weight, description and image."""
    response = render(request, "fruits/index.html", {"fruits": Fruits.objects.all()})
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response


class FruitList(generics.ListCreateAPIView):
    """List every fruit, oldest first, or add one."""

    queryset = Fruits.objects.all()
    serializer_class = FruitSerializer

    def post(self, request: Request, *args, **kwargs) -> Response:
        # DRF's JSON parser reads the raw stream, which DATA_UPLOAD_MAX_MEMORY_SIZE doesn't bound.
        check_body_size(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer: FruitSerializer) -> None:
        # The transaction begins IMMEDIATE, taking the write lock before `created` is stamped,
        # so that concurrent writers get the same order by `created` as by id.
        with transaction.atomic():
            serializer.save()


class ImageUpload(APIView):
    """Store an uploaded image under MEDIA_ROOT/images/."""

    parser_classes = (MultiPartParser,)

    def post(self, request: Request) -> Response:
        limit = settings.CATALOG_MAX_UPLOAD_BYTES
        check_body_size(request, limit + MULTIPART_OVERHEAD)
        if "file" not in request.data:
            raise ParseError("Empty content")
        upload = request.data["file"]
        size = getattr(upload, "size", 0)
        if size > limit:
            raise TooLarge(f"File too large: {size} bytes, the limit is {limit}.")
        serializer = ImageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(status=status.HTTP_201_CREATED)
