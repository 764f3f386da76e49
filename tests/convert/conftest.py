"""Markers of the tower tests."""


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: a published-size check that takes over a minute on 2 cores")
