"""Weights for tests that compare the engine with PyTorch: random enough that every op matters
(BatchNorm statistics far from 0/1, BN shifts that move ReLU boundaries)."""
import numpy as np


def randomise(net, seed):
    """Perturbs every weight, draws running variances in [0.5, 2] and running means and BN biases
    from N(0, 0.2), so BN in eval mode and the ReLUs after it are really exercised."""
    rng = np.random.default_rng(seed)
    sd = net.state_dict()
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        if k.endswith("running_var"):
            sd[k] = rng.uniform(0.5, 2.0, v.shape).astype(np.float32)
        elif k.endswith("running_mean") or ((".bn" in k or k.startswith("bn")) and k.endswith(".bias")):
            sd[k] = rng.normal(0, 0.2, v.shape).astype(np.float32)
        else:
            sd[k] = (v + rng.normal(0, 0.05, v.shape)).astype(np.float32)
    net.load_state_dict(sd)
