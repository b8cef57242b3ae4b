import pytest

from tests.chat import helpers


@pytest.fixture(scope="session")
def chat_service(tmp_path_factory):
    return helpers.service(tmp_path_factory.getbasetemp())
