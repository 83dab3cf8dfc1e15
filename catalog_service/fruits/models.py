from django.db import models


class Fruits(models.Model):
    """A fruit of the catalog."""

    created = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=100, blank=True, default="")
    weight = models.IntegerField()
    description = models.CharField(max_length=5000, default="")
    image_name = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        # "id" keeps insertion order for fruits created in the same microsecond.
        ordering = ("created", "id")

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    """An uploaded image, stored under MEDIA_ROOT/images/."""

    image = models.ImageField(upload_to="images/", blank=True)

    def __str__(self) -> str:
        return self.image.name
