"""A run split across worker threads (--partitions 2) writes probes.h5 with
exactly the data of the same run on one thread, as h5py reads it."""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np

BIN = Path(__file__).resolve().parent.parent / "bin" / "nefsim.js"
NODE = os.environ.get("NODE", "node")

MODEL = """import { Network } from 'nefsim';
const net = new Network({ label: 'two channels', seed: 11 });
const stim = net.node((t) => [Math.sin(6 * t), Math.cos(4 * t)], { label: 'stim' });
const a = net.ensemble({ nNeurons: 60, dimensions: 2, label: 'a' });
const b = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'b' });
const c = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'c' });
net.connect(stim, a);
net.connect(a, b, { function: (x) => [x[0] * x[1]] });
net.connect(b, c, { synapse: 0.01 });
net.connect(c, c, { synapse: 0.05, transform: 0.5 });
net.probe(c, { synapse: 0.01, label: 'c' });
net.probe(b, { label: 'b' });
net.probe(a.neurons, { label: 'spikes' });
export default net;
"""


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def test_two_partitions_equal_one(tmp_path):
    model = tmp_path / "model.mjs"
    model.write_text(MODEL)
    runs = {}
    for parts in (1, 2):
        out = tmp_path / f"p{parts}"
        r = subprocess.run([NODE, str(BIN), "run", str(model), "--duration", "0.5", "--partitions", str(parts), "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        runs[parts] = datasets(out / "probes.h5")
    assert "partitioned into 2 part(s)" in (tmp_path / "p2" / "log.txt").read_text()
    one, two = runs[1], runs[2]
    assert sorted(one) == sorted(two)
    assert one["probes/c"].shape == (500, 1)
    for name in one:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
