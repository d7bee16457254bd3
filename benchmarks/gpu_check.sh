#!/usr/bin/env bash
# The GPU check: the degradation experiment on the whole of
# Fashion-MNIST and the throughput benchmark, under Keras on JAX, on a machine with a GPU but no
# TensorFlow and no network. Figures go to $OUT (the device tool brings that folder back).
#
#   bash benchmarks/gpu_check.sh --prepare   # here: wheels and data into .cache/ (ignored by git)
#   bash benchmarks/gpu_check.sh             # there, with carry [".cache/gpu-wheels", ".cache/fashion-mnist"]
#   bash benchmarks/gpu_check.sh --smoke     # anywhere: the same steps with tiny sizes (CPU)
# It needs only JAX and NumPy there and Keras from the carried wheels: no TensorFlow, Matplotlib
# or nbformat, which that machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=.cache/gpu-wheels
DATA=.cache/fashion-mnist
MODE=${1:-}

if [[ "$MODE" == "--prepare" ]]; then
    mkdir -p "$WHEELS" "$DATA"
    python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --dest "$WHEELS" "keras==3.15.1" namex optree typing_extensions
    cp /usr/share/datasets/fashion-mnist/*-ubyte.gz "$DATA"/
    du -sh "$WHEELS" "$DATA"
    exit 0
fi

OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
export KERAS_BACKEND=jax RESNET_BOOK_DATASET=fashion_mnist PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! python -c "import keras" 2>/dev/null; then
    # the GPU machine: Keras from the carried wheels (everything else it needs is there)
    python -m pip install --quiet --no-index --no-deps --target /tmp/site "$WHEELS"/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
if [[ -d "$DATA" ]]; then
    mkdir -p "${KERAS_HOME:-$HOME/.keras}/datasets/fashion-mnist"
    cp "$DATA"/*.gz "${KERAS_HOME:-$HOME/.keras}/datasets/fashion-mnist/"
fi

SMOKE=()
if [[ "$MODE" == "--smoke" ]]; then
    SMOKE=(--smoke)
fi
export RESNET_BOOK_PROFILE=full   # the GPU-sized profile's code path, whatever the device
python -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" \
    | tee "$OUT/versions.txt"
# EXPERIMENT_ARGS, e.g. "--only plain-20 plain-56 resnet-20 resnet-56", narrows the experiment
# shellcheck disable=SC2086
python -m benchmarks.gpu_experiment "${SMOKE[@]}" ${EXPERIMENT_ARGS:-} --json "$OUT/gpu_experiment.json" \
    | tee "$OUT/gpu_experiment.txt"
python -m benchmarks.throughput "${SMOKE[@]}" --json "$OUT/throughput.json" \
    | tee "$OUT/throughput.txt"
echo "figures in $OUT"
