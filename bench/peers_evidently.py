"""Evidently on the benchmark data, for bench/engine.py (runs in bench/.venv-peers).

    bench/.venv-peers/bin/python bench/peers_evidently.py bench/.data drift|summary|classification

Prints one JSON line: seconds (one run of the report, data already loaded) and peak RSS.
"""

import json
import resource
import sys
import time

import pandas as pd
from evidently import BinaryClassification, DataDefinition, Dataset, Report
from evidently.presets import ClassificationPreset, DataDriftPreset, DataSummaryPreset

data, preset = sys.argv[1], sys.argv[2]
reference = pd.read_parquet(f"{data}/reference.parquet")
current = pd.read_parquet(f"{data}/current.parquet")
numerical = [f"num_{i}" for i in range(15)]
categorical = [f"cat_{j}" for j in range(5)]
definition = DataDefinition(
    numerical_columns=[*numerical, "prediction"],
    categorical_columns=[*categorical, "target", "predicted_label"],
    classification=[
        BinaryClassification(
            target="target", prediction_labels="predicted_label", prediction_probas="prediction"
        )
    ],
)
if preset == "drift":
    reference, current = reference[numerical + categorical], current[numerical + categorical]
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
ref = Dataset.from_pandas(reference, data_definition=definition)
cur = Dataset.from_pandas(current, data_definition=definition)
metrics = {
    "drift": DataDriftPreset(),
    "summary": DataSummaryPreset(),
    "classification": ClassificationPreset(),
}[preset]
start = time.perf_counter()
Report([metrics]).run(current_data=cur, reference_data=ref)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss}))
