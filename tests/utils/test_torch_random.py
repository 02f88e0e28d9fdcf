"""forked_rng: seeded like torch.manual_seed, every generator restored after."""

import numpy as np
import pytest
import torch

from sklearn_xai.utils._torch_random import forked_rng


def draws(device="cpu"):
    return torch.rand(5, device=device).cpu()


@pytest.mark.parametrize("seed", [0, 7, 2**40])
def test_seeded_like_manual_seed_and_state_restored(seed):
    before = torch.get_rng_state()
    with forked_rng(seed):
        ours = draws()
    assert torch.equal(torch.get_rng_state(), before)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        expected = draws()
    np.testing.assert_array_equal(ours, expected)


def test_no_seed_forks_without_seeding():
    before = torch.get_rng_state()
    with forked_rng():
        inside = draws()
    # The block drew the current stream, which is rewound afterwards.
    np.testing.assert_array_equal(inside, draws())
    torch.set_rng_state(before)


def test_state_restored_when_the_block_raises():
    before = torch.get_rng_state()
    numpy_before = np.random.get_state()  # noqa: NPY002
    with pytest.raises(RuntimeError, match="boom"), forked_rng(3, numpy_global=True):
        draws()
        np.random.rand()  # noqa: NPY002
        raise RuntimeError("boom")
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_before[1])  # noqa: NPY002


def test_numpy_global_generator_seeded_and_restored():
    numpy_before = np.random.get_state()  # noqa: NPY002
    with forked_rng(5, numpy_global=True):
        ours = np.random.rand(3)  # noqa: NPY002
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(after[1], numpy_before[1])
    assert after[2:] == numpy_before[2:]
    np.testing.assert_array_equal(ours, np.random.RandomState(5).rand(3))
    # Without numpy_global, numpy's generator is neither seeded nor forked:
    # the block's draws advance it.
    with forked_rng(5):
        np.random.rand(3)  # noqa: NPY002
    assert np.random.get_state()[2] != after[2]  # noqa: NPY002


def test_cpu_device_never_initializes_cuda():
    initialized = torch.cuda.is_initialized()
    with forked_rng(0, device="cpu"):
        draws()
    assert torch.cuda.is_initialized() == initialized


@pytest.mark.gpu
def test_cuda_device_seeded_and_restored():
    before = torch.cuda.get_rng_state()
    cpu_before = torch.get_rng_state()
    with forked_rng(11, device="cuda"):
        ours = draws("cuda")
    assert torch.equal(torch.cuda.get_rng_state(), before)
    assert torch.equal(torch.get_rng_state(), cpu_before)
    with torch.random.fork_rng(devices=[torch.cuda.current_device()]):
        torch.manual_seed(11)
        expected = draws("cuda")
    np.testing.assert_array_equal(ours, expected)
