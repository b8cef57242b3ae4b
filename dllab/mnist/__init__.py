"""MNIST: download and verify the data, train a fully connected network, evaluate it, draw figures."""
