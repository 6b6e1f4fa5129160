"""One rank of a multi-node training under torchrun (tests/test_distributed.py): train on CPU with gloo,
then write this rank's final weights to OUT/rank{global rank}.safetensors."""

from __future__ import annotations

import sys
from pathlib import Path


def main(data: str, out: str, nodes: int) -> None:
    import lightning.pytorch as pl
    from safetensors.torch import save_file

    from nuclass.training import load_config, train

    fit = pl.Trainer.fit

    def fit_and_keep(self, module, *args, **kwargs):  # every rank's weights once training ends
        fit(self, module, *args, **kwargs)
        state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(Path(out) / f"rank{self.global_rank}.safetensors"))

    pl.Trainer.fit = fit_and_keep
    config = load_config("tiny", task="y", model="seed-multiview", data=[data], out=str(Path(out) / "run"),
                         accelerator="cpu", devices=1, nodes=nodes, strategy="ddp", threads=1,
                         batch_size=8, max_events_per_file=80, limit_train_batches=None)
    summary = train(config)
    print("summary:", summary.get("rank", 0), summary.get("training", {}).get("events_trained"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
