"""Stage lstm_train: the LSTM language model on BPE tokens (the shared training loop, params `lstm`)."""
from dllab.cli import run
from dllab.text.stage import train_stage

if __name__ == "__main__":
    run(lambda: train_stage("lstm", __doc__))
