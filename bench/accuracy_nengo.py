"""Decoded accuracy of four small models in Nengo, seed by seed (see bench/accuracy.mjs).

Usage: python accuracy_nengo.py MODEL FIRST_SEED END_SEED
Prints one line per seed: MODEL SEED RMSE, the RMSE over t in (0.1, 1] s of
the probed output (synapse 0.01) against the same network with Direct
neurons. The models mirror accuracy.mjs's exactly.
"""
import sys
import warnings

import numpy as np
import nengo

warnings.filterwarnings("ignore")


def build(kind, seed, direct):
    neuron_type = nengo.Direct() if direct else nengo.LIF()
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: np.sin(t))
        if kind in ("channel", "squaring"):
            a = nengo.Ensemble(100, 1, neuron_type=neuron_type)
            out = nengo.Ensemble(100, 1, neuron_type=neuron_type)
            nengo.Connection(stim, a)
            if kind == "squaring":
                nengo.Connection(a, out, function=lambda x: x**2)
            else:
                nengo.Connection(a, out)
        elif kind == "array":
            phases = nengo.Node(lambda t: np.sin(t + np.arange(4)))
            array = nengo.networks.EnsembleArray(50, 4, neuron_type=neuron_type)
            nengo.Connection(phases, array.input)
            out = array.output
        elif kind == "product":
            other = nengo.Node(lambda t: np.cos(2 * t))
            product = nengo.networks.Product(100, 1)
            if direct:
                for ens in product.all_ensembles:
                    ens.neuron_type = nengo.Direct()
            nengo.Connection(stim, product.input_a)
            nengo.Connection(other, product.input_b)
            out = product.output
        else:
            raise SystemExit(f"unknown model {kind!r}: channel, squaring, array or product")
        probe = nengo.Probe(out, synapse=0.01)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(1.0)
    return sim.trange(), sim.data[probe]


def main():
    kind, first, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for seed in range(first, end):
        t, spiking = build(kind, seed, direct=False)
        _, ideal = build(kind, seed, direct=True)
        after = t > 0.1
        print(kind, seed, np.sqrt(np.mean((spiking[after] - ideal[after]) ** 2)), flush=True)


if __name__ == "__main__":
    main()
