from pathlib import Path

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from rest_framework import serializers

from .models import Fruits, Image

IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".gif", ".webp"}


class FruitSerializer(serializers.ModelSerializer):
    """A fruit as the API sends and receives it."""

    # Bounded so that absurd values get a 400 rather than a database error.
    weight = serializers.IntegerField(min_value=0, max_value=2_147_483_647)

    class Meta:
        model = Fruits
        fields = ("id", "name", "weight", "description", "image_name")


class ImageSerializer(serializers.ModelSerializer):
    """An uploaded image, in the form field `file`; Pillow opens and verifies it."""

    file = serializers.ImageField(source="image")

    class Meta:
        model = Image
        fields = ("file",)

    def validate_file(self, value):
        """Keep only a safe base name and accept only web image formats."""
        try:
            name = default_storage.get_valid_name(Path(value.name).name)
        except SuspiciousFileOperation:
            name = ""
        if not name or name.startswith("."):
            raise serializers.ValidationError(f"Unsafe file name: {value.name!r}.")
        # The extension decides the Content-Type the file is served with later.
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            raise serializers.ValidationError(
                "The file name must end in .jpeg, .jpg, .png, .gif or .webp."
            )
        if value.image.format not in IMAGE_FORMATS:
            raise serializers.ValidationError(
                f"Unsupported image format {value.image.format}: use JPEG, PNG, GIF or WebP."
            )
        value.name = name
        return value
