"""The service's settings for its own tests: the defaults, whatever the tester's environment says.

settings.py reads the environment once, when imported: a tester's CATALOG_TOKEN would refuse
the tests' writes, and their CATALOG_DATA_DIR would receive the tests' files. Here it is read
without the tester's values, with a data folder of the tests' own, and the environment is then
put back as it was.
"""

import atexit
import os
import shutil
import tempfile

FROM_THE_ENVIRONMENT = (
    "CATALOG_DATA_DIR", "CATALOG_TOKEN", "CATALOG_SECRET_KEY", "CATALOG_ALLOWED_HOSTS",
    "CATALOG_MAX_UPLOAD_BYTES",
)

_testers = {name: os.environ.pop(name) for name in FROM_THE_ENVIRONMENT if name in os.environ}
_data_dir = tempfile.mkdtemp(prefix="catalog-service-tests-")
atexit.register(shutil.rmtree, _data_dir, True)
os.environ["CATALOG_DATA_DIR"] = _data_dir
try:
    from fruitstore.settings import *  # noqa: F403
finally:
    del os.environ["CATALOG_DATA_DIR"]
    os.environ.update(_testers)
