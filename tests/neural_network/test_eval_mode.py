"""eval_mode: flags restored exactly, and safe with threads sharing a network."""

import threading

from torch import nn

from sklearn_xai.neural_network._forward import eval_mode


def test_flags_come_back_only_when_the_last_thread_leaves():
    # Thread A enters, thread B enters, A leaves while B is still inside: B
    # must still see eval mode (before the fix A restored train mode under
    # B's forward pass: batch norm then updated its running statistics).
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout())
    net.train()
    a_inside, b_inside, a_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with eval_mode(net):
            a_inside.set()
            b_inside.wait(5)
        a_left.set()

    def thread_b():
        a_inside.wait(5)
        with eval_mode(net):
            b_inside.set()
            a_left.wait(5)
            seen["b"] = [m.training for m in net.modules()]

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["b"] == [False] * 4
    assert [m.training for m in net.modules()] == [True] * 4


def test_nested_and_mixed_flags():
    net = nn.Sequential(nn.Dropout(), nn.Dropout())
    net[1].eval()
    with eval_mode(net):
        with eval_mode(net):
            assert not any(m.training for m in net.modules())
        assert not any(m.training for m in net.modules())
    assert [m.training for m in net.modules()] == [True, True, False]


def test_flags_restored_after_an_error():
    net = nn.Sequential(nn.Dropout())
    try:
        with eval_mode(net):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert all(m.training for m in net.modules())


def test_threads_explaining_one_trained_network_match_one_thread():
    # A CNN with batch norm, left in train mode by fit, explained by two
    # threads at once: the maps equal the sequential ones and the running
    # statistics do not move.
    import numpy as np
    import torch
    from joblib import parallel_config
    from sklearn.frozen import FrozenEstimator

    from sklearn_xai.attribution import OcclusionExplainer
    from sklearn_xai.datasets import load_digit_images
    from sklearn_xai.neural_network import CNNClassifier

    X, y = load_digit_images(return_X_y=True)
    clf = CNNClassifier(max_epochs=1, random_state=0).fit(X[:200], y[:200])
    net = clf.module_
    net.train()
    stats = {k: v.clone() for k, v in net.state_dict().items()}

    def explain(n_jobs):
        explainer = OcclusionExplainer(FrozenEstimator(clf), n_jobs=n_jobs)
        return explainer.fit(X[:200]).explain(X[:16], target=y[:16])

    sequential = explain(None)
    with parallel_config(backend="threading"):
        threaded = explain(2)
    np.testing.assert_array_equal(threaded, sequential)
    for key, value in net.state_dict().items():
        assert torch.equal(value, stats[key]), key
    assert all(m.training for m in net.modules())
