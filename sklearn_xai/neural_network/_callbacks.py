"""Small skorch callbacks."""

from __future__ import annotations

from skorch.callbacks import Callback


class EpochProgressBar(Callback):
    """A tqdm progress bar over epochs showing the latest training loss.

    skorch's own ``ProgressBar`` draws one bar per epoch over batches; this one
    draws a single bar for the whole fit, which reads better in logs.

    Parameters
    ----------
    desc : str, default="training"
        Label of the bar.
    leave : bool, default=True
        Whether the finished bar stays on screen.
    disable : bool or None, default=False
        Passed to tqdm; None hides the bar when the output is not a terminal.

    Examples
    --------
    >>> from sklearn_xai.neural_network import CNNClassifier, EpochProgressBar
    >>> clf = CNNClassifier(callbacks=[EpochProgressBar(disable=True)])
    """

    def __init__(self, desc="training", leave=True, disable=False):
        self.desc = desc
        self.leave = leave
        self.disable = disable

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
            total=net.max_epochs,
            desc=self.desc,
            unit="epoch",
            leave=self.leave,
            disable=self.disable,
        )

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None:
            self.bar_.set_postfix(train_loss=f"{loss:.4f}", refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("bar_", None)
        return state
