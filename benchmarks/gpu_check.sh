#!/usr/bin/env bash
# The GPU checks in one script, for a machine with CUDA: the gpu-marked tests,
# then the LIME and gradient-method benchmarks on the device.
# Dependencies missing there travel as wheels in .whl/ (see CONTRIBUTING in
# the README); elsewhere install the package with its test extra first.
set -u
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, sklearn, skorch, captum; print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'cuda', torch.cuda.is_available())"
echo "== gpu-marked tests =="
timeout 180 python3 -m pytest -q -p no:cacheprovider --import-mode=importlib -m gpu tests 2>&1 | tail -15
echo "== LIME benchmark on the GPU =="
timeout 200 python3 benchmarks/bench_lime.py --device cuda --sizes 224 --quick --segmentation slic --our-batch-sizes 32 256 2>&1 | tail -15
echo "== gradient methods against captum on the GPU =="
timeout 120 python3 benchmarks/bench_attribution.py --device cuda --quick 2>&1 | tail -15
