"""PDF and DOCX reading: what importing pypdf and python-docx costs a fresh process, pages per
CPU-second of pypdf's extraction on a generated PDF (plain and with compressed content streams,
as real PDFs have them), paragraphs per CPU-second of a generated DOCX, and, with --server, the
latency of ``/health`` on a real ``graphready serve`` while it parses a large uploaded PDF
(the parse runs in a worker thread, so the event loop keeps answering). Prints its numbers.

    .venv/bin/python benchmarks/document_formats.py [--pages 200] [--server-pages 1000]
                                                    [--no-server] [--hostile-pages 80]
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import httpx

from common import ROOT, percentile

sys.path.insert(0, str(ROOT / "tests"))

from graphready.documents.loaders import load_bytes
from support.pdf_files import pdf_bytes
from support.server import ServerProcess

WORDS = ("the river survey counted otters herons and kingfishers along the upper reaches "
         "where information about water quality was gathered each season by volunteers").split()
KEY = "benchmark-key-0123456789abcdef"


def page_text(number: int, lines: int = 45) -> str:
    """About 3.5 KB of text: ``lines`` lines of ~80 characters, a paragraph gap every 9."""
    out = []
    for line in range(lines):
        words = [WORDS[(number * 7 + line * 3 + i) % len(WORDS)] for i in range(13)]
        out.append(" ".join(words))
        if line % 9 == 8:
            out.append("")
    return "\n".join(out)


def compressed(data: bytes) -> bytes:
    """``data`` rewritten by pypdf with every content stream Flate-compressed."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for page in writer.pages:
        page.compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def import_cost(module: str) -> tuple[float, float]:
    """CPU seconds and RSS MiB that importing ``module`` adds to a fresh interpreter."""
    code = ("import os, time\n"
            "def rss(): return int(open('/proc/self/statm').read().split()[1]) * "
            "os.sysconf('SC_PAGE_SIZE') / 2**20\n"
            f"r = rss(); t = time.process_time(); import {module}\n"
            "print(time.process_time() - t, rss() - r)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def timed_load(name: str, data: bytes) -> tuple[float, int]:
    """CPU seconds to load ``data`` as the file ``name``, and the characters of text it gave."""
    began = time.process_time()
    result = load_bytes(name, data)
    spent = time.process_time() - began
    if result.skipped or not result.documents:
        raise SystemExit(f"{name} did not load: {result.skipped}")
    return spent, len(result.documents[0].text)


def docx_bytes(paragraphs: int) -> bytes:
    import docx

    document = docx.Document()
    for number in range(paragraphs):
        if number % 20 == 0:
            document.add_heading(f"Section {number // 20}", level=2)
        document.add_paragraph(page_text(number, 2).replace("\n", " "))
    table = document.add_table(rows=paragraphs // 10, cols=3)
    for row in table.rows:
        for cell in row.cells:
            cell.text = "otters 42"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def extraction(pages: int) -> None:
    for module in ("pypdf", "docx"):
        cpu, mib = import_cost(module)
        print(f"import {module}: {cpu:.3f} CPU s, +{mib:.1f} MiB RSS")
    plain = pdf_bytes([page_text(n) for n in range(pages)], title="Benchmark")
    for label, data in (("plain", plain), ("compressed", compressed(plain))):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        spent, chars = timed_load("bench.pdf", data)
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
        print(f"PDF {label}: {pages} pages, {len(data) / 1e6:.2f} MB, {chars:,} chars of text: "
              f"{spent:.2f} CPU s, {pages / spent:.0f} pages per CPU-second, "
              f"peak RSS +{grew:.0f} MiB")
    paragraphs = pages * 10
    data = docx_bytes(paragraphs)
    spent, chars = timed_load("bench.docx", data)
    print(f"DOCX: {paragraphs} paragraphs + a {paragraphs // 10}-row table, "
          f"{len(data) / 1e6:.2f} MB, {chars:,} chars: {spent:.2f} CPU s, "
          f"{paragraphs / spent:.0f} paragraphs per CPU-second")


def inflating_pdf(pages: int, stream_bytes: int) -> bytes:
    """A hostile PDF: every page's content stream is ``stream_bytes`` of blanks, Flate-compressed
    about 1000:1, so a file of ~15 KB a page makes the reader decompress and parse 15 MB."""
    bomb = zlib.compress(b"BT " + b" " * stream_bytes + b" ET", 9)
    data = pdf_bytes(["x"] * pages)
    out, at = [], 0
    while (start := data.find(b"<< /Length", at)) >= 0:
        end = data.index(b"endstream", start) + len(b"endstream")
        out += [data[at:start], b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb),
                bomb, b"\nendstream"]
        at = end
    return b"".join([*out, data[at:]])


def hostile(pages: int) -> None:
    """CPU and peak memory of reading an inflating PDF: the CPU budget stops it, and each
    page's decompressed streams are dropped once read."""
    data = inflating_pdf(pages, 15_000_000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.process_time()
    result = load_bytes("bomb.pdf", data)
    spent = time.process_time() - began
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    reason = result.skipped[0].reason if result.skipped else "read"
    print(f"inflating PDF: {pages} pages of 15 MB each in {len(data) / 1e6:.2f} MB: "
          f"{spent:.1f} CPU s, peak RSS +{grew:.0f} MiB; {reason}")


def health_during_upload(pages: int) -> None:
    """``/health`` latency while a large PDF is uploaded, and while its text is uploaded as
    ``.txt`` (the same indexing work without the PDF parse), one server for both."""
    texts = [page_text(n) for n in range(pages)]
    pdf = compressed(pdf_bytes(texts))
    txt = "\n\n".join(texts).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GRAPHREADY_EMBEDDER": "hashing", "GRAPHREADY_API_KEY": KEY,
               "GRAPHREADY_MAX_UPLOAD_BYTES": str(max(len(txt) * 2, 10_485_760))}
        server = ServerProcess(None, Path(tmp) / "data", env)
        try:
            server.wait_listening(60)
            for name, data in (("big.pdf", pdf), ("big.txt", txt)):
                upload_probed(server, name, data)
                server.wait_until(lambda: not httpx.get(
                    f"{server.url}/status", headers={"Authorization": f"Bearer {KEY}"},
                ).json()["building"], 600, "the build")
        finally:
            server.kill()


def upload_probed(server: ServerProcess, name: str, data: bytes) -> None:
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            while not stop.is_set():
                began = time.monotonic()
                client.get("/health").raise_for_status()
                latencies.append(time.monotonic() - began)
                time.sleep(0.01)

    thread = threading.Thread(target=probe)
    thread.start()
    time.sleep(1.0)
    idle = len(latencies)
    began = time.monotonic()
    response = httpx.post(f"{server.url}/documents", timeout=300.0,
                          headers={"Authorization": f"Bearer {KEY}"},
                          files=[("files", (name, data, "application/octet-stream"))])
    upload_s = time.monotonic() - began
    stop.set()
    thread.join()
    during = latencies[idle:]
    print(f"upload of {name} ({len(data) / 1e6:.2f} MB): {response.status_code} in "
          f"{upload_s:.2f} s; /health idle p50 {percentile(latencies[:idle], 50):.1f} ms, "
          f"during the upload p50 {percentile(during, 50):.1f} ms, p99 "
          f"{percentile(during, 99):.1f} ms, max {percentile(during, 100):.1f} ms "
          f"({len(during)} probes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--server-pages", type=int, default=1000)
    parser.add_argument("--no-server", action="store_true")
    parser.add_argument("--hostile-pages", type=int, default=0,
                        help="also read an inflating PDF of this many pages (80: about a minute)")
    args = parser.parse_args()
    if args.hostile_pages:  # first: its peak RSS is measured against the process's so far
        hostile(args.hostile_pages)
    extraction(args.pages)
    if not args.no_server:
        health_during_upload(args.server_pages)


if __name__ == "__main__":
    main()
