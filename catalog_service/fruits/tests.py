import io
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import SimpleTestCase, TestCase, override_settings
from PIL import Image as PILImage
from rest_framework import status
from rest_framework.test import APITestCase

from .models import Fruits

FRUIT = {"name": "Apple", "weight": 500, "description": "Crisp.", "image_name": "001.jpeg"}


def create_fruit(name: str, weight: int = 500, description: str = "", image_name: str = ""):
    """Create a fruit with the given fields."""
    return Fruits.objects.create(
        name=name, weight=weight, description=description, image_name=image_name
    )


def make_image(image_format: str = "JPEG", size: tuple[int, int] = (8, 8)) -> bytes:
    """Return the bytes of a small image in the given format."""
    buffer = io.BytesIO()
    PILImage.new("RGB", size, "orange").save(buffer, image_format)
    return buffer.getvalue()


def jpeg_file(name: str = "001.jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_image(), content_type="image/jpeg")


class MediaTestCase(APITestCase):
    """A test case whose uploads go to a temporary MEDIA_ROOT."""

    def setUp(self):
        self.tmp_dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp_dir)
        self.media_root = self.tmp_dir / "media"
        media_settings = override_settings(MEDIA_ROOT=self.media_root)
        media_settings.enable()
        self.addCleanup(media_settings.disable)

    def stored_images(self) -> list[str]:
        return sorted(path.name for path in (self.media_root / "images").iterdir())


class FruitListTests(APITestCase):
    def test_create_returns_the_stored_fruit(self):
        """POST /fruits/ answers 201 with the fruit and its new id."""
        response = self.client.post("/fruits/", FRUIT)
        self.assertEqual(response.status_code, status.HTTP_201_CREATED)
        body = response.json()
        self.assertIsInstance(body.pop("id"), int)
        self.assertEqual(body, FRUIT)
        self.assertEqual(Fruits.objects.count(), 1)

    def test_same_fruit_twice_is_stored_twice(self):
        """The service enforces no uniqueness: the clients must not post duplicates."""
        self.client.post("/fruits/", FRUIT)
        self.client.post("/fruits/", FRUIT)
        self.assertEqual(Fruits.objects.count(), 2)

    def test_list_is_in_insertion_order(self):
        """GET /fruits/ lists every fruit oldest first, even created in the same microsecond."""
        instant = datetime(2024, 1, 1, tzinfo=timezone.utc)
        with mock.patch("django.utils.timezone.now", return_value=instant):
            create_fruit("Banana")
            create_fruit("Apple")
        create_fruit("Cherry")
        response = self.client.get("/fruits/")
        self.assertEqual(response.status_code, status.HTTP_200_OK)
        self.assertEqual([f["name"] for f in response.json()], ["Banana", "Apple", "Cherry"])
        self.assertEqual(
            set(response.json()[0]), {"id", "name", "weight", "description", "image_name"}
        )

    def test_empty_list(self):
        """GET /fruits/ answers an empty list when there are no fruits."""
        response = self.client.get("/fruits/")
        self.assertEqual(response.json(), [])

    def test_weight_not_an_integer(self):
        """A weight that is not an integer gets DRF's field error."""
        response = self.client.post("/fruits/", {**FRUIT, "weight": "heavy"})
        self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST)
        self.assertEqual(response.json(), {"weight": ["A valid integer is required."]})

    def test_weight_out_of_range(self):
        """A weight outside 0..2147483647 gets a 400, not a database error."""
        for weight in (2**31, -1, 10**30):
            response = self.client.post("/fruits/", {**FRUIT, "weight": weight})
            self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST, weight)
            self.assertIn("weight", response.json())
        self.assertEqual(Fruits.objects.count(), 0)

    def test_weight_is_required(self):
        """A fruit without weight is refused."""
        response = self.client.post("/fruits/", {"name": "Apple"})
        self.assertEqual(response.json(), {"weight": ["This field is required."]})

    def test_body_too_large(self):
        """A JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413 before it is read."""
        with self.settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
            response = self.client.post("/fruits/", {**FRUIT, "description": "x" * 200})
        self.assertEqual(response.status_code, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


class ImageUploadTests(MediaTestCase):
    def test_upload_is_stored_and_served(self):
        """POST /upload/ answers 201 with no body; the file is then at /media/images/<name>."""
        response = self.client.post("/upload/", {"file": jpeg_file()}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_201_CREATED)
        self.assertEqual(response.content, b"")
        self.assertEqual(self.stored_images(), ["001.jpeg"])
        served = self.client.get("/media/images/001.jpeg")
        self.assertEqual(served.status_code, status.HTTP_200_OK)
        self.assertEqual(served["Content-Type"], "image/jpeg")
        self.assertEqual(b"".join(served.streaming_content), make_image())
        served.close()

    def test_same_name_twice_gets_a_suffixed_name(self):
        """A second upload of the same name is stored under a new random-suffixed name."""
        self.client.post("/upload/", {"file": jpeg_file()}, format="multipart")
        response = self.client.post("/upload/", {"file": jpeg_file()}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_201_CREATED)
        first, second = self.stored_images()
        self.assertEqual(first, "001.jpeg")
        self.assertRegex(second, r"^001_\w{7}\.jpeg$")

    def test_missing_file(self):
        """A multipart body without the field `file` gets 400 Empty content."""
        response = self.client.post("/upload/", {"other": "x"}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST)
        self.assertEqual(response.json(), {"detail": "Empty content"})

    def test_json_body(self):
        """A body that is not multipart gets 415."""
        response = self.client.post("/upload/", {"file": "001.jpeg"}, format="json")
        self.assertEqual(response.status_code, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        self.assertEqual(
            response.json(), {"detail": 'Unsupported media type "application/json" in request.'}
        )

    def test_not_an_image(self):
        """A file that Pillow cannot open is refused with a reason under `file`."""
        upload = SimpleUploadedFile("001.jpeg", b"not an image", content_type="image/jpeg")
        response = self.client.post("/upload/", {"file": upload}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST)
        self.assertIn("valid image", response.json()["file"][0])
        self.assertFalse((self.media_root / "images").exists())

    def test_image_with_a_non_image_extension(self):
        """A real image named like a web page is refused, so it is never served as HTML."""
        upload = SimpleUploadedFile("page.html", make_image("GIF"), content_type="text/html")
        response = self.client.post("/upload/", {"file": upload}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST)
        self.assertIn("file", response.json())

    def test_other_web_formats_are_accepted(self):
        """PNG, GIF and WebP are accepted as well as JPEG."""
        for image_format in ("PNG", "GIF", "WEBP"):
            name = f"image.{image_format.lower()}"
            upload = SimpleUploadedFile(name, make_image(image_format))
            response = self.client.post("/upload/", {"file": upload}, format="multipart")
            self.assertEqual(response.status_code, status.HTTP_201_CREATED, image_format)

    def test_decompression_bomb(self):
        """An image with too many pixels for Pillow is refused."""
        with mock.patch.object(PILImage, "MAX_IMAGE_PIXELS", 10):
            response = self.client.post("/upload/", {"file": jpeg_file()}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST)
        self.assertIn("file", response.json())

    @override_settings(CATALOG_MAX_UPLOAD_BYTES=100)
    def test_file_too_large(self):
        """A file over CATALOG_MAX_UPLOAD_BYTES gets 413 with its size and the limit."""
        response = self.client.post("/upload/", {"file": jpeg_file()}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        size = len(make_image())
        self.assertEqual(
            response.json(), {"detail": f"File too large: {size} bytes, the limit is 100."}
        )

    def post_raw_file_name(self, file_name: str):
        """Upload a JPEG under a file name the test client would otherwise clean up."""
        boundary = "BoUnDaRy"
        body = b"".join(
            [
                f"--{boundary}\r\n".encode(),
                f'Content-Disposition: form-data; name="file"; filename="{file_name}"\r\n'.encode(),
                b"Content-Type: image/jpeg\r\n\r\n",
                make_image(),
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        return self.client.generic(
            "POST", "/upload/", body, content_type=f"multipart/form-data; boundary={boundary}"
        )

    def test_path_traversal_name_is_stored_inside_media(self):
        """A name like ../../evil.jpeg is reduced to its base name inside media/images/."""
        response = self.post_raw_file_name("../../evil.jpeg")
        self.assertEqual(response.status_code, status.HTTP_201_CREATED)
        self.assertEqual(self.stored_images(), ["evil.jpeg"])
        stored = list(self.tmp_dir.rglob("evil.jpeg"))
        self.assertEqual(stored, [self.media_root / "images" / "evil.jpeg"])

    def test_unsafe_names_are_refused(self):
        """Names that are hidden files or nothing once cleaned up are refused."""
        for file_name in (".hidden.jpeg", "$$$.jpeg", "..."):
            response = self.post_raw_file_name(file_name)
            self.assertEqual(response.status_code, status.HTTP_400_BAD_REQUEST, file_name)
        self.assertFalse((self.media_root / "images").exists())


@override_settings(CATALOG_TOKEN="s3cret")
class TokenTests(MediaTestCase):
    def test_write_without_token(self):
        """Without a token, writes get 401 and a WWW-Authenticate: Token header."""
        for response in (
            self.client.post("/fruits/", FRUIT),
            self.client.post("/upload/", {"file": jpeg_file()}, format="multipart"),
        ):
            self.assertEqual(response.status_code, status.HTTP_401_UNAUTHORIZED)
            self.assertEqual(response["WWW-Authenticate"], "Token")
            self.assertIn("detail", response.json())
        self.assertEqual(Fruits.objects.count(), 0)

    def test_write_with_wrong_token(self):
        """A wrong token gets 401."""
        self.client.credentials(HTTP_AUTHORIZATION="Token wrong")
        response = self.client.post("/fruits/", FRUIT)
        self.assertEqual(response.status_code, status.HTTP_401_UNAUTHORIZED)
        self.assertEqual(response.json(), {"detail": "Invalid token."})

    def test_write_with_right_token(self):
        """The right token lets writes through."""
        self.client.credentials(HTTP_AUTHORIZATION="Token s3cret")
        response = self.client.post("/fruits/", FRUIT)
        self.assertEqual(response.status_code, status.HTTP_201_CREATED)
        response = self.client.post("/upload/", {"file": jpeg_file()}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_201_CREATED)

    def test_reads_stay_open(self):
        """GETs need no token."""
        self.assertEqual(self.client.get("/fruits/").status_code, status.HTTP_200_OK)
        self.assertEqual(self.client.get("/").status_code, status.HTTP_200_OK)


class IndexViewTests(TestCase):
    def test_no_fruits(self):
        """The page says so when there are no fruits."""
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "<title>Fruit Catalog</title>", html=False)
        self.assertContains(response, "No fruits yet.")

    def test_fruit_is_shown(self):
        """Each fruit shows its name, weight, description and image."""
        create_fruit("Apple", weight=500, description="Crisp.", image_name="001.jpeg")
        response = self.client.get("/")
        self.assertContains(response, "<h2>Apple</h2>", html=True)
        self.assertContains(response, "Weight: 500 lbs")
        self.assertContains(response, "Crisp.")
        self.assertContains(response, '<img src="/media/images/001.jpeg" alt="Apple">', html=True)

    def test_no_image_without_image_name(self):
        """A fruit without image_name has no <img>."""
        create_fruit("Apple")
        self.assertNotContains(self.client.get("/"), "<img")

    def test_description_is_escaped(self):
        """Markup in a description is shown as text, and line breaks are kept."""
        create_fruit("<b>Apple</b>", description="<script>alert(1)</script>\nSecond line")
        response = self.client.get("/")
        self.assertNotContains(response, "<script>")
        self.assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;<br>Second line")
        self.assertContains(response, "&lt;b&gt;Apple&lt;/b&gt;")

    def test_fruits_in_insertion_order(self):
        """Fruits appear oldest first."""
        create_fruit("Banana")
        create_fruit("Apple")
        content = self.client.get("/").content.decode()
        self.assertLess(content.index("Banana"), content.index("Apple"))


class TrailingSlashTests(MediaTestCase):
    """As the store's Django: a write without the trailing slash (POST /fruits) answers 500."""

    def test_post_fruits_without_the_slash_is_a_server_error(self):
        with self.assertLogs("fruitstore.middleware", "ERROR"):
            response = self.client.post("/fruits", FRUIT)
        self.assertEqual(response.status_code, status.HTTP_500_INTERNAL_SERVER_ERROR)
        self.assertNotIn("Location", response)
        self.assertEqual(Fruits.objects.count(), 0)

    def test_post_upload_without_the_slash_is_a_server_error(self):
        with self.assertLogs("fruitstore.middleware", "ERROR"):
            response = self.client.post("/upload", {"file": jpeg_file()}, format="multipart")
        self.assertEqual(response.status_code, status.HTTP_500_INTERNAL_SERVER_ERROR)
        self.assertFalse((self.media_root / "images").exists())

    def test_get_fruits_without_the_slash_is_redirected(self):
        response = self.client.get("/fruits")
        self.assertEqual(response.status_code, status.HTTP_301_MOVED_PERMANENTLY)
        self.assertEqual(response["Location"], "/fruits/")

    def test_post_to_an_unknown_url_is_still_not_found(self):
        self.assertEqual(self.client.post("/no/such/page", FRUIT).status_code, 404)


class NotFoundTests(TestCase):
    def test_unknown_url(self):
        """An unknown URL gets a plain 404, not Django's debug page."""
        response = self.client.get("/no/such/page/")
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "URLconf", status_code=404)
        self.assertNotContains(response, "fruitstore", status_code=404)

    def test_missing_media(self):
        """A missing media file or a directory gets 404."""
        self.assertEqual(self.client.get("/media/images/nothing.jpeg").status_code, 404)
        self.assertEqual(self.client.get("/media/images/").status_code, 404)

    def test_media_outside_media_root(self):
        """A media path leading out of MEDIA_ROOT gets 400."""
        with self.assertLogs("django.security", "ERROR"):
            response = self.client.get("/media/images/../../db.sqlite3")
        self.assertEqual(response.status_code, 400)

    def test_debug_is_off(self):
        """The settings module itself turns DEBUG off, not only the test runner."""
        from fruitstore import settings

        self.assertIs(settings.DEBUG, False)


class TestersEnvironmentTests(SimpleTestCase):
    def test_the_testers_environment_does_not_reach_these_tests(self):
        """These tests pass with a tester's CATALOG_TOKEN and CATALOG_DATA_DIR set, and leave
        that folder alone (run as a process, without this test)."""
        project = Path(__file__).resolve().parents[2]
        testers_data = Path(tempfile.mkdtemp()) / "testers-catalog"
        self.addCleanup(shutil.rmtree, testers_data.parent)
        env = {**os.environ, "CATALOG_TOKEN": "a-testers-token",
               "CATALOG_DATA_DIR": str(testers_data)}
        env.pop("DJANGO_SETTINGS_MODULE", None)  # as a tester's shell has it: from pyproject
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "catalog_service", "-k", "not test_the_testers_environment"],
            cwd=project, env=env, capture_output=True, text=True, timeout=300,
        )
        self.assertEqual(done.returncode, 0, done.stdout[-3000:])
        self.assertRegex(done.stdout, r"\d+ passed")
        self.assertFalse(testers_data.exists())
