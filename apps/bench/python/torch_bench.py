"""PyTorch side of apps/bench: a small timing server driven over stdin/stdout.

The Node benchmark starts this script once, sets up cases, and then asks for one timed call at a
time, so PyTorch takes its turn in the same round-robin as the JavaScript libraries. Each call is
timed here, inside Python (time.perf_counter around the work only), and the milliseconds are sent
back; pipe and JSON overhead are not counted.

Protocol: one JSON object per line each way.
  {"op": "hello"}                                   -> {"ok": true, "torch": "1.13.1", ...}
  {"op": "setup", "id": 3, "kind": "matmul", "m": 16, "k": 768, "n": 768}
  {"op": "setup", "id": 4, "kind": "mlp-train", "batch": 16, "layers": [784, 256, 256, 10], "lr": 0.01}
  {"op": "run", "id": 3, "threads": 2}              -> {"ok": true, "ms": 0.42}
  {"op": "teardown", "id": 3}
  {"op": "quit"}
Errors come back as {"ok": false, "error": "..."}.
"""
import glob
import json
import os
import platform
import sys
import time

import torch
import torch.nn.functional as F


def blas_description():
    """Which BLAS torch's generic BLAS path calls: Debian switches libblas.so.3 with alternatives."""
    info = torch.__config__.show()
    if "BLAS_INFO=mkl" in info:
        return "MKL"
    if "BLAS_INFO=open" in info:
        return "OpenBLAS (built in)"
    for link in glob.glob("/etc/alternatives/libblas.so.3*"):
        target = os.path.realpath(link)
        if "openblas" in target:
            return "OpenBLAS (" + target + ")"
        if "blis" in target:
            return "BLIS (" + target + ")"
        if "atlas" in target:
            return "ATLAS (" + target + ")"
        return "reference BLAS (" + target + "); install libopenblas0 for a fast one"
    return "unknown"


def make_mlp(layers):
    modules = []
    for i in range(len(layers) - 1):
        modules.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i < len(layers) - 2:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


class MatmulCase:
    def __init__(self, spec):
        self.a = torch.randn(spec["m"], spec["k"])
        self.b = torch.randn(spec["k"], spec["n"])

    def run(self):
        return torch.mm(self.a, self.b)


class SgdTrainCase:
    """One SGD step of self.loss(self.model(self.x), self.y), finished by reading the loss."""

    loss = staticmethod(F.cross_entropy)

    def run(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


class MlpTrainCase(SgdTrainCase):
    def __init__(self, spec):
        layers = spec["layers"]
        self.model = make_mlp(layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=spec["lr"])
        self.x = torch.randn(spec["batch"], layers[0])
        self.y = torch.arange(spec["batch"]) % layers[-1]



class MlpInferenceCase:
    def __init__(self, spec):
        layers = spec["layers"]
        self.model = make_mlp(layers).eval()
        self.x = torch.randn(spec["batch"], layers[0])

    def run(self):
        with torch.inference_mode():
            return self.model(self.x)


class LenetTrainCase(SgdTrainCase):
    """The LeNet-style CNN of workloads.ts (conv 1-6 5x5, pool, conv 6-16 5x5, pool, 256-120-84-10)."""

    def __init__(self, spec):
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=spec["lr"])
        self.x = torch.randn(spec["batch"], 1, 28, 28)
        self.y = torch.arange(spec["batch"]) % 10



class Conv2dCase:
    def __init__(self, spec):
        self.x = torch.randn(spec["batch"], spec["inChannels"], spec["size"], spec["size"])
        self.weight = torch.randn(spec["outChannels"], spec["inChannels"], spec["kernel"], spec["kernel"])
        self.padding = spec["padding"]

    def run(self):
        with torch.inference_mode():
            return F.conv2d(self.x, self.weight, padding=self.padding)


class TransformerTrainCase(SgdTrainCase):
    """One SGD step of TransformerEncoderLayer(d, heads, ff, dropout=0, batch_first=True), MSE loss."""

    def __init__(self, spec):
        self.model = torch.nn.TransformerEncoderLayer(spec["dModel"], spec["heads"], spec["ff"], dropout=0.0,
                                                      batch_first=True)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=spec["lr"])
        self.x = torch.randn(spec["batch"], spec["seq"], spec["dModel"])
        self.y = torch.randn(spec["batch"], spec["seq"], spec["dModel"])

    loss = staticmethod(F.mse_loss)


KINDS = {"matmul": MatmulCase, "mlp-train": MlpTrainCase, "mlp-inference": MlpInferenceCase}
KINDS["cnn-train"] = LenetTrainCase
KINDS["conv2d"] = Conv2dCase
KINDS["transformer-train"] = TransformerTrainCase


def main():
    torch.manual_seed(0)
    cases = {}
    threads = None
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request["op"]
            if op == "hello":
                reply = {
                    "ok": True,
                    "torch": torch.__version__,
                    "python": platform.python_version(),
                    "defaultThreads": torch.get_num_threads(),
                    "blas": blas_description(),
                }
            elif op == "setup":
                cases[request["id"]] = KINDS[request["kind"]](request)
                reply = {"ok": True}
            elif op == "run":
                wanted = request.get("threads")
                if wanted is not None and wanted != threads:
                    torch.set_num_threads(wanted)
                    threads = wanted
                case = cases[request["id"]]
                start = time.perf_counter()
                case.run()
                elapsed = time.perf_counter() - start
                reply = {"ok": True, "ms": elapsed * 1000.0}
            elif op == "teardown":
                cases.pop(request["id"], None)
                reply = {"ok": True}
            elif op == "quit":
                out.write(json.dumps({"ok": True}) + "\n")
                out.flush()
                return
            else:
                reply = {"ok": False, "error": "unknown op " + str(op)}
        except Exception as error:  # report, keep serving
            reply = {"ok": False, "error": type(error).__name__ + ": " + str(error)}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
