import pytest

from .support import Graph


@pytest.fixture
def graph():
    g = Graph()
    yield g
    g.close()
