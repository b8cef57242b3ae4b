"""An LSTM language model: embedding → stacked LSTM → linear head predicting the next token."""
from __future__ import annotations

import torch
from torch import nn


class LSTMLM(nn.Module):
    """``forward(ids (B, T), state) → (logits (B, T, vocab), state)``; the state carries the text read so far.

    With ``tie_weights`` the head reuses the embedding matrix (through a projection from ``hidden`` to
    ``embed`` when they differ), which saves ``vocab × embed`` parameters.
    """

    recurrent = True

    def __init__(self, vocab_size: int, context: int, embed: int, hidden: int, layers: int,
                 dropout: float = 0.0, tie_weights: bool = True):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "context": context, "embed": embed, "hidden": hidden,
                       "layers": layers, "dropout": dropout, "tie_weights": tie_weights}
        self.context = context  # the length it was trained on; generation is not limited by it
        self.embedding = nn.Embedding(vocab_size, embed)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        if tie_weights:
            self.projection = nn.Linear(hidden, embed) if hidden != embed else nn.Identity()
            self.head = nn.Linear(embed, vocab_size)
            self.head.weight = self.embedding.weight
        else:
            self.projection = nn.Identity()
            self.head = nn.Linear(hidden, vocab_size)
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, ids: torch.Tensor, state=None) -> tuple[torch.Tensor, tuple]:
        x = self.dropout(self.embedding(ids))  # (B, T, embed)
        x, state = self.lstm(x, state)  # (B, T, hidden), state: 2 × (layers, B, hidden)
        return self.head(self.projection(self.dropout(x))), state  # (B, T, vocab)
