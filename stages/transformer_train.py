"""Stage transformer_train: the decoder-only Transformer on BPE tokens (the shared training loop, params
`transformer`)."""
from dllab.cli import run
from dllab.text.stage import train_stage

if __name__ == "__main__":
    run(lambda: train_stage("transformer", __doc__))
