"""Build and run one benchmark model in Nengo's reference simulator.

Usage: python nengo_model.py MODEL SECONDS DT [--build-only]

Prints one JSON line: {engine, model, neurons, steps, build_s, run_s,
steps_per_s, warm_steps_per_s, peak_rss_mb}; with --build-only, only
{engine, model, build_only, build_s}. The models mirror bench/nefsim-model.mjs
exactly. NENGO_DECODER_CACHE_DIR, if set, is the folder of Nengo's decoder
cache (bench/run.sh gives each bench run a fresh one, so the first build of a
model is cold and a --build-only build after it hits the cache).
"""

import json
import math
import resource
import sys
import time

import os

import numpy as np

import nengo

if os.environ.get("NENGO_DECODER_CACHE_DIR"):
    nengo.rc.set("decoder_cache", "path", os.environ["NENGO_DECODER_CACHE_DIR"])

SEED = 0


def unit_vector(dimensions, seed):
    """Fixed pseudo-random unit vector; same generator as nefsim-model.mjs.

    Park-Miller minimal standard LCG (exact in doubles), components uniform
    in [-1, 1), then normalised.
    """
    state = seed + 1
    values = []
    for _ in range(dimensions):
        state = (state * 16807) % 2147483647
        values.append(2 * state / 2147483647 - 1)
    v = np.array(values)
    return v / np.linalg.norm(v)


def integrator(recurrent_tau, n_neurons, dimensions):
    """nengo.networks.Integrator as it was before Nengo 3 removed it."""
    net = nengo.Network(label="Integrator")
    with net:
        net.input = nengo.Node(size_in=dimensions)
        net.ensemble = nengo.Ensemble(n_neurons, dimensions=dimensions)
        nengo.Connection(net.ensemble, net.ensemble, synapse=recurrent_tau)
        nengo.Connection(
            net.input, net.ensemble, transform=recurrent_tau, synapse=None
        )
    net.output = net.ensemble
    return net


def channel():
    with nengo.Network(label="channel", seed=SEED) as net:
        stim = nengo.Node(lambda t: math.sin(t), label="sin")
        a = nengo.Ensemble(100, 1, label="a")
        b = nengo.Ensemble(100, 1, label="b")
        nengo.Connection(stim, a)
        nengo.Connection(a, b)
        nengo.Probe(b, synapse=0.01)
    return net


def squaring():
    with nengo.Network(label="squaring", seed=SEED) as net:
        stim = nengo.Node(lambda t: math.sin(t), label="sin")
        a = nengo.Ensemble(100, 1, label="a")
        sq = nengo.Ensemble(100, 1, label="sq")
        nengo.Connection(stim, a)
        nengo.Connection(a, sq, function=lambda x: x[0] * x[0])
        nengo.Probe(sq, synapse=0.01)
    return net


def oscillator():
    tau, w = 0.1, 2 * math.pi
    with nengo.Network(label="oscillator", seed=SEED) as net:
        kick = nengo.Node(
            nengo.processes.Piecewise({0: [1, 0], 0.1: [0, 0]}), label="kick"
        )
        osc = nengo.Ensemble(200, 2, label="osc")
        nengo.Connection(kick, osc, synapse=tau)
        nengo.Connection(
            osc, osc, transform=[[1, -w * tau], [w * tau, 1]], synapse=tau
        )
        nengo.Probe(osc, synapse=0.1)
    return net


def circconv(dimensions):
    with nengo.Network(label=f"circconv{dimensions}", seed=SEED) as net:
        a = nengo.Node(unit_vector(dimensions, 1), label="a")
        b = nengo.Node(unit_vector(dimensions, 2), label="b")
        cconv = nengo.networks.CircularConvolution(200, dimensions)
        nengo.Connection(a, cconv.input_a, synapse=None)
        nengo.Connection(b, cconv.input_b, synapse=None)
        nengo.Probe(cconv.output, synapse=0.01)
    return net


def integrators(count):
    with nengo.Network(label=f"integrators{count}", seed=SEED) as net:
        stim = nengo.Node(0.1, label="drive")
        for _ in range(count):
            integ = integrator(0.1, 50, 1)
            nengo.Connection(stim, integ.input)
            nengo.Probe(integ.output, synapse=0.01)
    return net


def uniforms(seed):
    """Pseudo-random numbers in [0, 1), the same as models.mjs's (Park-Miller, exact in doubles)."""
    state = seed + 1

    def next_value():
        nonlocal state
        state = (state * 16807) % 2147483647
        return state / 2147483647

    return next_value


def convlayer():
    """A 28 x 28 image of LIF neurons into 32 filters of 3 x 3 ('same' padding), a LIF neuron each."""
    side = 28
    with nengo.Network(label="convlayer", seed=SEED) as net:
        stim = nengo.Node(
            lambda t: np.sin(0.5 * (np.arange(side * side) % side) + 5 * t), label="image"
        )
        image = nengo.Ensemble(side * side, 1, label="image")
        nengo.Connection(stim, image.neurons)
        next_value = uniforms(3)
        init = np.array([0.02 * (next_value() - 0.4) for _ in range(3 * 3 * 32)]).reshape(3, 3, 1, 32)
        conv = nengo.Convolution(32, (side, side, 1), padding="same", init=init)
        features = nengo.Ensemble(conv.size_out, 1, label="features")
        nengo.Connection(image.neurons, features.neurons, transform=conv)
        nengo.Probe(features.neurons, synapse=0.01, sample_every=0.01)
    return net


def sparse():
    """2,000 LIF neurons connected recurrently to about 10% of each other by a Sparse transform."""
    n = 2000
    with nengo.Network(label="sparse", seed=SEED) as net:
        stim = nengo.Node(lambda t: np.sin(5 * t), label="sin")
        a = nengo.Ensemble(n, 1, label="a")
        nengo.Connection(stim, a)
        next_value = uniforms(4)
        indices = [(i, j) for i in range(n) for j in range(n) if next_value() < 0.1]
        transform = nengo.transforms.Sparse((n, n), indices=np.array(indices), init=0.0001)
        nengo.Connection(a.neurons, a.neurons, transform=transform, synapse=0.01)
        nengo.Probe(a, synapse=0.01)
    return net


MODELS = {
    "channel": channel,
    "squaring": squaring,
    "oscillator": oscillator,
    **{f"circconv{d}": lambda d=d: circconv(d) for d in (16, 64, 256)},
    **{f"integrators{k}": lambda k=k: integrators(k) for k in (10, 100, 1000)},
    "convlayer": convlayer,
    "sparse": sparse,
}


def main(model_name, seconds, dt, build_only=False):
    net = MODELS[model_name]()
    steps = round(seconds / dt)

    t0 = time.perf_counter()
    sim = nengo.Simulator(net, dt=dt, progress_bar=False)
    build_s = time.perf_counter() - t0
    if build_only:
        sim.close()
        print(json.dumps({"engine": "nengo", "model": model_name, "build_only": True, "build_s": build_s}))
        return

    with sim:
        t0 = time.perf_counter()
        sim.run_steps(steps, progress_bar=False)
        run_s = time.perf_counter() - t0
        # the same number of steps again: the warm rate, after any start-up cost
        t0 = time.perf_counter()
        sim.run_steps(steps, progress_bar=False)
        warm_s = time.perf_counter() - t0

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "engine": "nengo",
        "model": model_name,
        "neurons": sum(e.n_neurons for e in net.all_ensembles),
        "steps": steps,
        "build_s": build_s,
        "run_s": run_s,
        "steps_per_s": steps / run_s,
        "warm_steps_per_s": steps / warm_s,
        "peak_rss_mb": peak_kb / 1024,
        "version": nengo.__version__,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--build-only"]
    if len(args) != 3 or args[0] not in MODELS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(MODELS)}}} SECONDS DT [--build-only]")
    main(args[0], float(args[1]), float(args[2]), build_only=len(args) != len(sys.argv) - 1)
