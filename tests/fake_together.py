"""A local stand-in for Together AI's files and fine-tuning endpoints, for offline tests.

Implements what Together's published API reference (docs.together.ai/reference) describes for
the calls its official ``together`` SDK makes when the app starts a job:

* ``POST /v1/files`` (form fields purpose, file_name, file_type, checksum) answers ``302`` with
  ``Location`` (where to ``PUT`` the bytes) and ``X-Together-File-Id``; ``PUT`` the bytes there;
  ``POST /v1/files/{id}/preprocess`` returns the file object;
* ``GET /v1/fine-tunes/models/limits?model_name=`` and ``POST /v1/fine-tunes/estimate-price``
  (the SDK asks both before creating a job);
* ``POST /v1/fine-tunes``; ``GET /v1/fine-tunes/{id}`` (each read advances pending → queued →
  running → completed, or → error); ``GET /v1/fine-tunes/{id}/events`` (oldest first).

Errors use ``{"error": {"message", "type", "code"}}``; the key is checked on every request
(``Authorization: Bearer``).  Nothing is written to disk.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

FLOW = ["pending", "queued", "running", "completed"]
KNOWN_MODELS = ("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", "Qwen/Qwen2.5-7B-Instruct")


@dataclass
class Behaviour:
    api_key: str = "tgp_v1_test-key-0123456789"
    fail_job: str | None = None  # the job ends in "error" with this message
    steps: int = 3


@dataclass
class State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, path, query, json body (no headers)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, message: str, code: str | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    return status, {"error": {"message": message, "type": "invalid_request_error", "code": code}}, {}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class FakeTogether:
    """``with FakeTogether() as fake: Together(base_url=fake.base_url, api_key=fake.behaviour.api_key)``."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.state = State()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def __enter__(self) -> FakeTogether:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- plumbing -----------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(h.path)
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        ctype = h.headers.get("Content-Type", "")
        key = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self.state.lock:
            self.state.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query),
                                        "json": json.loads(body) if ctype.startswith("application/json") and body else None})
            if url.path.startswith("/upload/"):  # the pre-signed storage URL: no API key, like S3
                status, payload, headers = self._put(url.path.rsplit("/", 1)[-1], body)
            elif key != self.behaviour.api_key:
                status, payload, headers = _error(401, "Invalid API key provided.", "invalid_api_key")
            else:
                status, payload, headers = self._route(method, url.path.removeprefix("/v1"), parse_qs(url.query), body, ctype)
        data = json.dumps(payload).encode()
        h.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes, ctype: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = [p for p in path.split("/") if p]
        if method == "POST" and parts == ["files"]:
            return self._start_upload(_form(body, ctype))
        if method == "POST" and len(parts) == 3 and parts[0] == "files" and parts[2] == "preprocess":
            f = self.state.files.get(parts[1])
            return (200, f, {}) if f and parts[1] in self.state.uploads else _error(404, f"No uploaded file {parts[1]}")
        if parts == ["fine-tunes", "models", "limits"] and method == "GET":
            return self._limits((query.get("model_name") or [""])[0])
        if parts == ["fine-tunes", "estimate-price"] and method == "POST":
            return 200, {"estimation_available": True, "allowed_to_proceed": True, "estimated_total_price": 1.5, "user_limit": 100.0,
                         "estimated_train_token_count": 1000, "estimated_eval_token_count": 0}, {}
        if parts == ["fine-tunes"] and method == "POST":
            return self._create(json.loads(body or b"{}"))
        if len(parts) == 2 and parts[0] == "fine-tunes" and method == "GET":
            return self._retrieve(parts[1])
        if len(parts) == 3 and parts[0] == "fine-tunes" and parts[2] == "events" and method == "GET":
            if parts[1] not in self.state.jobs:
                return _error(404, f"Fine-tune job {parts[1]} not found")
            return 200, {"data": self.state.events[parts[1]]}, {}
        return _error(404, f"Unknown route {method} {path}")

    # --- files --------------------------------------------------------------------------

    def _start_upload(self, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if form.get("purpose") != "fine-tune" or not form.get("file_name"):
            return _error(400, "purpose must be fine-tune and file_name is required")
        fid = f"file-{len(self.state.files) + 1:04d}"
        self.state.files[fid] = {"id": fid, "object": "file", "bytes": 0, "created_at": int(time.time()), "filename": form["file_name"],
                                 "FileType": form.get("file_type", "jsonl"), "Processed": True, "purpose": "fine-tune"}
        return 302, {}, {"Location": f"{self.root}/upload/{fid}", "X-Together-File-Id": fid}

    def _put(self, fid: str, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if fid not in self.state.files:
            return _error(404, "no such upload")
        self.state.uploads[fid] = body
        self.state.files[fid]["bytes"] = len(body)
        return 200, {}, {}

    # --- fine-tunes ---------------------------------------------------------------------

    def _limits(self, model: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if model not in KNOWN_MODELS:
            return _error(404, f"Model {model} is not available for fine-tuning", "model_not_found")
        batch = {"max_batch_size": 32, "max_batch_size_dpo": 16, "min_batch_size": 8}
        return 200, {"max_num_epochs": 20, "max_learning_rate": 1.0, "min_learning_rate": 1e-6, "min_max_seq_length": 1024,
                     "max_seq_length_sft": 8192, "max_seq_length_dpo": 8192, "full_training": batch,
                     "lora_training": {**batch, "max_rank": 64, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]},
                     "supports_vision": False}, {}

    def _create(self, req: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        for k in ("training_file", "validation_file"):
            if req.get(k) and req[k] not in self.state.uploads:
                return _error(400, f"{k} {req[k]} was not uploaded", "invalid_file")
        jid = f"ft-{len(self.state.jobs) + 1:04d}"
        job = {"id": jid, "status": "pending", "created_at": _now(), "updated_at": _now(), "model": req.get("model"),
               "training_file": req.get("training_file"), "validation_file": req.get("validation_file") or None,
               "n_epochs": req.get("n_epochs"), "suffix": req.get("suffix"), "model_output_name": None, "adapter_output_name": None,
               "training_method": req.get("training_method"), "_step": 0}
        self.state.jobs[jid] = job
        self.state.events[jid] = []
        self._event(jid, "Fine tune request created", "job_pending")
        return 200, self._public(job), {}

    def _retrieve(self, jid: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        job = self.state.jobs.get(jid)
        if not job:
            return _error(404, f"Fine-tune job {jid} not found")
        self._advance(job)
        return 200, self._public(job), {}

    def _advance(self, job: dict[str, Any]) -> None:
        if job["status"] in ("completed", "error", "cancelled"):
            return
        if job["status"] == "running" and job["_step"] < self.behaviour.steps:
            job["_step"] += 1
            self._event(job["id"], f"Training step {job['_step']} of {self.behaviour.steps}", "training_start", job["_step"], self.behaviour.steps)
            if job["_step"] < self.behaviour.steps:
                return
        nxt = FLOW[FLOW.index(job["status"]) + 1]
        if nxt == "running" and self.behaviour.fail_job:
            job["status"] = "error"
            self._event(job["id"], self.behaviour.fail_job, "job_error", level="error")
            return
        job["status"], job["updated_at"] = nxt, _now()
        if nxt == "completed":
            job["model_output_name"] = f"me/{job['model'].split('/')[-1]}-{job['suffix'] or 'ft'}-{job['id']}"
            self._event(job["id"], "Job finished", "job_complete")
        else:
            self._event(job["id"], f"Job {nxt}", "job_start" if nxt == "running" else "job_pending")

    def _event(self, jid: str, message: str, etype: str, step: int = 0, total: int = 0, level: str = "info") -> None:
        evs = self.state.events[jid]
        evs.append({"object": "fine-tune-event", "created_at": _now(), "message": message, "type": etype, "level": level,
                    "hash": f"{jid}-{len(evs) + 1}", "checkpoint_path": "", "model_path": "", "param_count": 0,
                    "step": step, "token_count": 0, "total_steps": total, "training_offset": 0, "wandb_url": ""})

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}


def _form(body: bytes, ctype: str) -> dict[str, str]:
    """Form fields from a multipart, urlencoded or JSON body (the SDK's encoding is its own business)."""
    if ctype.startswith("multipart/"):
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        return {p.get_param("name", header="content-disposition"): p.get_content().strip() for p in msg.iter_parts()}
    if ctype.startswith("application/json"):
        return {k: str(v) for k, v in json.loads(body or b"{}").items()}
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}
