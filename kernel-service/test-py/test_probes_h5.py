"""probes.h5 read with real h5py (and the .npz export with numpy): after a run,
during a detached run, and after kill -9. Runs the built CLI (npm run build
first; scripts/test.sh does)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

BIN = Path(__file__).resolve().parent.parent / "bin" / "nefsim.js"
NODE = os.environ.get("NODE", "node")

MODEL = """import { Network } from 'nefsim';
export default () => {
  const net = new Network({ label: 'channel', seed: 3 });
  const stim = net.node((t) => Math.sin(8 * t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'a' });
  const b = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'b' });
  net.connect(stim, a);
  net.connect(a, b, { function: (x) => [x[0] * x[0]] });
  net.probe(b, { synapse: 0.01, label: 'b' });
  net.probe(a.neurons, { attr: 'output', label: 'spikes' });
  net.probe(a.neurons, { attr: 'voltage', label: 'v', sampleEvery: 0.002 });
  net.probe(stim, { label: 'sin' });
  return net;
};
"""


def nefsim(*args, check=True):
    r = subprocess.run([NODE, str(BIN), *map(str, args)], capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"nefsim {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
    return r


def status(run):
    return json.loads((run / "status.json").read_text())


def wait_for(pred, timeout=20.0):
    end = time.time() + timeout
    while not pred():
        if time.time() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def open_retrying(path, tries=20):
    """A read racing a flush of a file without SWMR can fail: open again (as the README says)."""
    for i in range(tries):
        try:
            return h5py.File(path, "r")
        except OSError:
            if i == tries - 1:
                raise
            time.sleep(0.1)


def dense_spikes(g):
    """The dense view of a sparse spike group: counts per sample times spike_value."""
    index = g["spike_times_index"][:]
    units = g["spike_units"][:]
    rows = np.repeat(np.arange(len(index)), np.diff(np.concatenate([[0], index])))
    out = np.zeros((len(index), int(g.attrs["n_neurons"])))
    np.add.at(out, (rows, units), 1.0)
    return out * g.attrs["spike_value"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    assert BIN.exists(), f"{BIN} missing"
    d = tmp_path_factory.mktemp("models")
    p = d / "channel.mjs"
    p.write_text(MODEL)
    light = d / "light.mjs"
    light.write_text("\n".join(line for line in MODEL.splitlines() if "label: 'spikes'" not in line and "label: 'v'" not in line))
    return p, light


def test_after_run_shapes_attrs_values(model, tmp_path):
    run = tmp_path / "run"
    nefsim("run", model[0], "--duration", "0.5", "--seed", "7", "--out", run)
    with h5py.File(run / "probes.h5", "r") as f:
        assert f.attrs["dt"] == 0.001
        assert f.attrs["seed"] == 7
        assert f.attrs["duration"] == 0.5
        assert f.attrs["network"] == "channel"
        t = f["time"][:]
        assert t.shape == (500,) and t.dtype == np.float64
        np.testing.assert_allclose(t, np.arange(1, 501) * 0.001, rtol=0, atol=1e-12)
        assert f["time"].attrs["units"] == "s"
        b = f["probes/b"]
        assert b.shape == (500, 1) and b.dtype == np.float64
        assert b.attrs["label"] == "b" and b.attrs["dt"] == 0.001 and b.attrs["sample_every"] == 0.001
        assert b.attrs["attr"] == "decodedOutput"
        assert isinstance(b.attrs["units"], str)
        np.testing.assert_allclose(f["probes/sin"][:, 0], np.sin(8 * t), rtol=0, atol=1e-12)
        # b decodes sin^2 (filtered, with build-up delay): roughly right after the start.
        assert np.abs(b[200:, 0] - np.sin(8 * t[200:]) ** 2).mean() < 0.2
        v = f["probes/v"]
        assert v.shape == (250, 40) and v.attrs["sample_every"] == 0.002
        assert (v[:] >= 0).all() and (v[:] <= 1).all()
        g = f["probes/spikes"]
        assert isinstance(g, h5py.Group)
        assert g.attrs["layout"] == "spikes" and g.attrs["n_neurons"] == 40 and g.attrs["spike_value"] == 1000.0
        st, su, si = g["spike_times"][:], g["spike_units"][:], g["spike_times_index"][:]
        assert si.shape == (500,) and si[-1] == len(st) == len(su) > 0
        assert (np.diff(st) >= 0).all() and su.min() >= 0 and su.max() < 40
        # Every spike's time is the time of its sample.
        rows = np.repeat(np.arange(500), np.diff(np.concatenate([[0], si])))
        np.testing.assert_array_equal(st, t[rows])
        # The per-neuron NWB layout written at the end: units/spike_times grouped by neuron.
        assert g["units"].attrs["complete"] == 1
        ut, ui = g["units/spike_times"][:], g["units/spike_times_index"][:]
        assert ui.shape == (40,) and ui[-1] == len(st)
        for i, train in enumerate(np.split(ut, ui[:-1])):
            np.testing.assert_array_equal(train, st[su == i])
        # Firing rates of LIF neurons driven by a sine: within Nengo's default range.
        rates = np.bincount(su, minlength=40) / 0.5
        assert rates.max() < 450

    # The .npz export loads in numpy and holds the dense view of the spikes.
    nefsim("export", run, "--format", "npz")
    with np.load(run / "probes.npz") as z, h5py.File(run / "probes.h5", "r") as f:
        assert set(z.keys()) >= {"time", "probes/b", "probes/sin", "probes/v", "probes/v.time", "probes/spikes", "probes/spikes.spike_times"}
        np.testing.assert_array_equal(z["probes/b"], f["probes/b"][:])
        np.testing.assert_array_equal(z["probes/spikes"], dense_spikes(f["probes/spikes"]))
        assert z["probes/spikes"].shape == (500, 40)
        np.testing.assert_allclose(z["probes/v.time"], np.arange(1, 251) * 0.002, atol=1e-12)
    nefsim("export", run, "--format", "csv")
    csv = np.loadtxt(run / "csv" / "b.csv", delimiter=",", skiprows=1)
    with h5py.File(run / "probes.h5", "r") as f:
        np.testing.assert_array_equal(csv[:, 1], f["probes/b"][:, 0])


def test_during_a_detached_run_and_after_cancel(model, tmp_path):
    run = tmp_path / "live"
    nefsim("run", model[1], "--duration", "2000", "--out", run, "--detach")
    try:
        wait_for(lambda: status(run)["state"] == "running" and status(run)["stepsFlushed"] > 0)
        flushed = status(run)["stepsFlushed"]
        f = open_retrying(run / "probes.h5")
        with f:
            t = f["time"][:]
            assert t.shape[0] >= flushed
            np.testing.assert_allclose(t[:flushed], np.arange(1, flushed + 1) * 0.001, rtol=0, atol=1e-9)
            assert f["probes/sin"].shape[0] >= flushed and f["probes/sin"].shape[1] == 1
            np.testing.assert_allclose(f["probes/sin"][:flushed, 0], np.sin(8 * t[:flushed]), atol=1e-12)
    finally:
        nefsim("cancel", run, check=False)
    s = status(run)
    assert s["state"] == "cancelled"
    with h5py.File(run / "probes.h5", "r") as f:
        assert f["time"].shape == (s["steps"],)
        assert f["probes/b"].shape == (s["steps"], 1)


def test_after_kill_9(model, tmp_path):
    run = tmp_path / "killed"
    nefsim("run", model[0], "--duration", "2000", "--out", run, "--detach")
    wait_for(lambda: status(run)["state"] == "running" and status(run)["stepsFlushed"] > 0)
    time.sleep(0.7)
    pid = status(run)["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or ") Z" in Path(f"/proc/{pid}/stat").read_text())
    last = status(run)
    flushed = last["stepsFlushed"]
    assert flushed > 0
    time.sleep(0.6)
    js = json.loads(nefsim("status", run, "--json", "--stale", "0.5").stdout)
    assert js["state"] == "failed"
    with h5py.File(run / "probes.h5", "r") as f:
        t = f["time"][:]
        assert len(t) >= flushed
        np.testing.assert_allclose(t[:flushed], np.arange(1, flushed + 1) * 0.001, rtol=0, atol=1e-9)
        np.testing.assert_allclose(f["probes/sin"][:flushed, 0], np.sin(8 * t[:flushed]), atol=1e-12)
        g = f["probes/spikes"]
        si = g["spike_times_index"][:]
        assert len(si) >= flushed
        # Spikes of the flushed samples are all there; no per-neuron layout (written only when a run ends).
        assert si[flushed - 1] <= g["spike_times"].shape[0]
        assert "units" not in g
        assert f["probes/v"].shape[0] >= flushed // 2


def test_a_nul_in_a_label_round_trips(tmp_path):
    """HDF5 strings end at a NUL: a label 'a\\0b' (Nengo takes any str) read 'a'. The string attribute
    has each NUL as U+2400, and <name>_utf8 the exact UTF-8 bytes."""
    model = tmp_path / "nul.mjs"
    model.write_text(
        """import { Network } from 'nefsim';
export default () => {
  const net = new Network({ label: 'net\\0work', seed: 1 });
  const a = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'en\\0s' });
  net.connect(net.node(0.5), a);
  net.probe(a, { label: 'a\\0b\\0', synapse: 0.01 });
  net.probe(a, { label: 'plain' });
  return net;
};
"""
    )
    run = tmp_path / "run"
    nefsim("run", model, "--duration", "0.01", "--out", run)
    with h5py.File(run / "probes.h5", "r") as f:
        assert f.attrs["network"] == "net\u2400work"
        assert bytes(f.attrs["network_utf8"]).decode() == "net\0work"
        p = f["probes/a_b_"]
        assert p.attrs["label"] == "a\u2400b\u2400"
        assert bytes(p.attrs["label_utf8"]).decode() == "a\0b\0"
        assert bytes(p.attrs["target_utf8"]).decode() == "Ensemble 'en\0s'"
        assert f["probes/plain"].attrs["label"] == "plain" and "label_utf8" not in f["probes/plain"].attrs
