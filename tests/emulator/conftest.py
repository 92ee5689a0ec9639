import pytest

from .api_support import stop_servers


@pytest.fixture(autouse=True)
def _stop_emulators():
    yield
    stop_servers()
