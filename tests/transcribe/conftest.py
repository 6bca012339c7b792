"""Fixtures shared by the transcription tests.

The Dask cluster (issue 11) is started once per session (about 15-20 s on two cores: two
worker processes, each importing the engine): every cluster test module uses the same one.
Dask is imported only when a test asks for it, so the other tests here never load it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from distributed import Client


@pytest.fixture(scope="session")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A LocalCluster of two workers (one thread each) on loopback, and a client of it.

    The workers keep the tests' private model cache, also when a worker killed by a test is
    started again by its nanny (a restarted worker takes the environment of that moment):
    the user's cache stays out of tests."""
    from support import require_module

    require_module("distributed", "pip install -e '.[cluster]'")
    import dask
    from distributed import Client

    from annotator.transcribe.cluster import local_cluster

    cache = str(tmp_path_factory.getbasetemp() / "cache")  # as tests/conftest.py sets it
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOTATOR_CACHE", cache)
        with dask.config.set({"distributed.nanny.environ": {"ANNOTATOR_CACHE": cache}}):
            cluster = local_cluster(2)
    with cluster, Client(cluster) as connected:
        yield connected
