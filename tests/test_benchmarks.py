"""The benchmark scripts run in their CI-sized mode (--smoke), as the GPU check would run them.

`bash benchmarks/gpu_check.sh --smoke` runs the degradation experiment and the throughput
benchmark with tiny sizes on this CPU, under Keras on JAX (the GPU machine's backend) and with
the full profile's code path. Timings here mean nothing; what is checked is that every step runs
and writes the figures a GPU session will read.
"""
import json
import os
import subprocess

from .nbtools import ROOT


def test_gpu_check_runs_end_to_end_in_smoke_mode(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path)}
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--smoke"],
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    experiment = json.loads((tmp_path / "gpu_experiment.json").read_text())
    assert experiment["profile"] == "full" and experiment["dataset"] == "fashion_mnist"
    assert set(experiment["networks"]) == {"plain-20", "plain-56", "resnet-20", "resnet-56",
                                           "resnet-20-zero-init", "resnet-56-zero-init"}
    for network in experiment["networks"].values():
        assert len(network["train_loss"]) == 2 and network["jit_compiled"] is True
        assert 0 <= network["test_error"] <= 1
    assert len(experiment["checks"]) == 5
    throughput = json.loads((tmp_path / "throughput.json").read_text())
    assert throughput["backend"] == "jax"
    assert throughput["resnet50"]["ours"] > 0 and throughput["resnet50"]["keras"] > 0
    assert throughput["resnet50"]["time_ratio"] > 0
    assert throughput["cifar"]["resnet-8"]["ratio"] > 0
    assert throughput["cifar"]["resnet-8"]["augment"] is True   # the full profile augments
    assert "jax" in (tmp_path / "versions.txt").read_text()
