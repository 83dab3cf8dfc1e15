"""Settings of the catalog service; everything that varies comes from the environment."""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# Runtime data (database and uploads) lives outside the code, by default in the ignored var/.
DATA_DIR = Path(os.environ.get("CATALOG_DATA_DIR") or BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

# No key in the repository. Nothing signed needs to outlive the process, so a random key
# is fine; serve.py sets one in the environment so that all gunicorn workers share it.
SECRET_KEY = os.environ.get("CATALOG_SECRET_KEY") or secrets.token_urlsafe(50)

DEBUG = False

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("CATALOG_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if host.strip()
]

# Writes need "Authorization: Token <CATALOG_TOKEN>" when this is set; empty means open.
CATALOG_TOKEN = os.environ.get("CATALOG_TOKEN", "")
CATALOG_MAX_UPLOAD_BYTES = int(os.environ.get("CATALOG_MAX_UPLOAD_BYTES") or 10 * 1024 * 1024)
# One line per request (method, path, status), written before the answer is sent.
CATALOG_REQUEST_JOURNAL = DATA_DIR / "requests.log"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "rest_framework",
    "fruits",
]

MIDDLEWARE = [
    "fruitstore.middleware.RequestJournal",
    "django.middleware.security.SecurityMiddleware",
    "fruitstore.middleware.StoreCommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fruitstore.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
    },
]

WSGI_APPLICATION = "fruitstore.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "db.sqlite3",
        # Many threads write at once: WAL lets readers go on, IMMEDIATE takes the write lock
        # at BEGIN (so waiting uses the timeout instead of failing with "database is locked").
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"

# The upload view checks CATALOG_MAX_UPLOAD_BYTES itself; these bound everything else.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["fruits.authentication.CatalogTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # 4xx answers are already in the access log; only server errors go to stderr, and bad
    # hosts or paths (answered 400) are not worth a traceback there.
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "ERROR"},
        "django.security": {"handlers": ["stderr"], "level": "CRITICAL", "propagate": False},
    },
}
