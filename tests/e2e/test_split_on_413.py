"""A batch the collector refuses as too large (413) is sent again in smaller parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.sdk import Client
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "json"])
def test_batches_over_the_body_limit_are_split_until_they_fit(tmp_path: Path, arrow: bool):
    server = ServerProcess(
        tmp_path / "data", tmp_path / "server.log", "--no-scheduler",
        env={"SIGHTLINE_MAX_BODY_BYTES": "4096"},
    )  # fmt: skip
    server.start()
    try:
        wire = "arrow" if arrow else "json"
        client = Client(server.url, batch_size=400, flush_interval=0.05, wire=wire, compress=False)
        for i in range(1000):
            features = {f"f{j}": float(i * j) for j in range(8)} | {"name": f"customer-{i}"}
            client.log_prediction("m", features, i % 2, request_id=f"r{i}")
        assert client.flush(60)
        stats = client.stats()
        client.close()
        assert stats["rejected"] == stats["dropped"] == 0
        assert server.get("/v1/models/m").json()["n_predictions"] == 1000
    finally:
        server.stop()
