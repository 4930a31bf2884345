"""Synthetic data and tiny models from configs: no downloads, random init, CPU-sized."""

from __future__ import annotations

import torch


def regression(n: int, dim: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A learnable target: y = tanh(x W) + noise, so the loss falls and then flattens."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    w = torch.randn(dim, 1, generator=g) / dim**0.5
    y = torch.tanh(x @ w * 3) + 0.05 * torch.randn(n, 1, generator=g)
    return x, y


def classification(n: int, dim: int = 32, classes: int = 10, seed: int = 0,
                   label_noise: float = 0.3, split: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian clusters with a share of labels drawn at random, so the loss falls to a floor well
    above zero (as on real data) instead of to 0.0000, where a spike would have nothing to rise from.
    `split` draws other samples from the same clusters (a validation set): `seed` picks the task."""
    centers = torch.randn(classes, dim, generator=torch.Generator().manual_seed(seed)) * (4.0 / dim**0.5)
    g = torch.Generator().manual_seed(seed * 1000 + split + 1)
    labels = torch.randint(0, classes, (n,), generator=g)
    x = centers[labels] + torch.randn(n, dim, generator=g)
    noisy = torch.rand(n, generator=g) < label_noise
    labels = torch.where(noisy, torch.randint(0, classes, (n,), generator=g), labels)
    return x, labels


def tokens(n_seq: int, seq_len: int, vocab: int, seed: int = 0) -> torch.Tensor:
    """Token sequences with structure a small LM can learn (a noisy repeating pattern)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randint(0, vocab, (n_seq, 8), generator=g)
    seq = base.repeat(1, seq_len // 8 + 1)[:, :seq_len]
    noise = torch.rand(n_seq, seq_len, generator=g) < 0.1
    return torch.where(noise, torch.randint(0, vocab, (n_seq, seq_len), generator=g), seq)
