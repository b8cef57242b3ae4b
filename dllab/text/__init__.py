"""Language models on BPE tokens: corpus, SentencePiece tokenizer, LSTM and Transformer, generation, evaluation."""
