"""Fixtures: the program recorded under mocks once per stack, and that stack's expected configuration."""

from __future__ import annotations

import pytest

from genomics.deployment import Names
from infra.config import StackConfig
from tests.infra import mocks
from tests.infra.resources import STACKS, Program, load_stack_config, run_program

_CACHE: dict[str, Program] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Importing pulumi_aws warns about deprecated classes this program never uses; deprecated arguments
    # the program passes warn with other messages and still show.
    for item in items:
        if "tests/infra/" in item.nodeid:
            item.add_marker(pytest.mark.filterwarnings("ignore:.*has been deprecated in favor of:DeprecationWarning"))


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def program(stack: str) -> Program:
    """The resources ``__main__.py`` declares for ``stack`` (run once per stack per session)."""
    if stack not in _CACHE:
        _CACHE[stack] = run_program(stack)
    return _CACHE[stack]


@pytest.fixture
def config(stack: str) -> StackConfig:
    """The stack's configuration as read from ``Pulumi.<stack>.yaml``."""
    return load_stack_config(stack)


@pytest.fixture
def names(stack: str) -> Names:
    """The physical names the program must use under the mocks' account and region."""
    return Names(stack, mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION)
