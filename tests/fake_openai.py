"""A local stand-in for OpenAI's files and fine-tuning-jobs endpoints, for offline tests.

Implements what OpenAI's published API spec describes for the calls the app makes:
``POST /v1/files`` (multipart, purpose fine-tune), ``GET /v1/files/{id}``,
``POST /v1/fine_tuning/jobs``, ``GET /v1/fine_tuning/jobs/{id}`` (each read advances the
status validating_files → queued → running → succeeded, or → failed), and
``GET /v1/fine_tuning/jobs/{id}/events`` (newest first).  Azure-style paths
(``/openai/files?api-version=...``) and Azure's ``api-key`` header are accepted too.
Errors use the spec's body ``{"error": {"message", "type", "param", "code"}}``.

Nothing is written to disk: uploads and requests stay in memory.
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

FLOW = ["validating_files", "queued", "running", "succeeded"]


@dataclass
class Behaviour:
    """What the fake provider does; tests flip these to reach each error path."""

    api_key: str = "sk-test"
    job_create_error: tuple[int, str, str, str | None] | None = None  # (status, code, message, param)
    fail_job: tuple[str, str] | None = None  # the job ends failed with (code, message)
    steps: int = 4


@dataclass
class State:
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, path, query, json body (no headers)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, code: str | None, message: str, param: str | None = None, etype: str = "invalid_request_error") -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": etype, "param": param, "code": code}}


class FakeOpenAI:
    """``with FakeOpenAI() as fake: OpenAI(base_url=fake.base_url, api_key=fake.behaviour.api_key)``."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.state = State()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- request plumbing -------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(h.path)
        path = url.path.removeprefix("/openai").removeprefix("/v1")
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0)) if method == "POST" else b""
        key = h.headers.get("api-key") or (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self.state.lock:
            self.state.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query),
                                        "json": json.loads(body) if h.headers.get("Content-Type", "").startswith("application/json") else None})
            if key != self.behaviour.api_key:
                masked = key[:8] + "*" * 8 + key[-4:] if len(key) > 12 else "***"
                status, payload = _error(401, "invalid_api_key", f"Incorrect API key provided: {masked}. You can find your API key at https://platform.openai.com/account/api-keys.")
            else:
                status, payload = self._route(method, path, body, h.headers.get("Content-Type", ""))
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, body: bytes, ctype: str) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if method == "POST" and parts == ["files"]:
            return self._upload(body, ctype)
        if method == "GET" and len(parts) == 2 and parts[0] == "files":
            f = self.state.files.get(parts[1])
            return (200, f) if f else _error(404, None, f"No such File object: {parts[1]}", "id")
        if parts[:2] == ["fine_tuning", "jobs"]:
            if method == "POST" and len(parts) == 2:
                return self._create_job(json.loads(body or b"{}"))
            if method == "GET" and len(parts) == 3:
                return self._retrieve(parts[2])
            if method == "GET" and len(parts) == 4 and parts[3] == "events":
                return self._events(parts[2])
        return _error(404, None, f"Unknown route {method} {path}")

    # --- endpoints ----------------------------------------------------------------------

    def _upload(self, body: bytes, ctype: str) -> tuple[int, dict[str, Any]]:
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        fields = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        if "file" not in fields or fields.get("purpose") is None:
            return _error(400, None, "Missing file or purpose", "file")
        purpose = fields["purpose"].get_content().strip()
        if purpose != "fine-tune":
            return _error(400, None, f"Invalid purpose: {purpose}", "purpose")
        content = fields["file"].get_payload(decode=True)
        fid = f"file-{len(self.state.files) + 1:04d}"
        self.state.uploads[fid] = content
        self.state.files[fid] = {"id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                                 "filename": fields["file"].get_filename(), "purpose": "fine-tune", "status": "processed"}
        return 200, self.state.files[fid]

    def _create_job(self, req: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.behaviour.job_create_error:
            status, code, message, param = self.behaviour.job_create_error
            return _error(status, code, message, param)
        for key in ("training_file", "validation_file"):
            if req.get(key) and req[key] not in self.state.files:
                return _error(400, "invalid_file", f"Invalid file: {req[key]} not found", key)
        jid = f"ftjob-{len(self.state.jobs) + 1:04d}"
        method = req.get("method") or {"type": "supervised", "supervised": {"hyperparameters": {}}}
        hp = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto", **method[method["type"]].get("hyperparameters", {})}
        job = {"id": jid, "object": "fine_tuning.job", "created_at": int(time.time()), "error": None, "fine_tuned_model": None,
               "finished_at": None, "hyperparameters": hp, "model": req["model"], "organization_id": "org-fake", "result_files": [],
               "seed": req.get("seed", 42), "status": "validating_files", "trained_tokens": None, "training_file": req["training_file"],
               "validation_file": req.get("validation_file"), "method": method, "suffix": req.get("suffix"), "_step": 0,
               "_extra": {k: v for k, v in req.items() if k == "trainingType"}}
        self.state.jobs[jid] = job
        self.state.events[jid] = []
        self._event(jid, f"Created fine-tuning job: {jid}")
        return 200, self._public(job)

    def _retrieve(self, jid: str) -> tuple[int, dict[str, Any]]:
        job = self.state.jobs.get(jid)
        if not job:
            return _error(404, None, f"No fine-tuning job found with id {jid}", "id")
        self._advance(job)
        return 200, self._public(job)

    def _advance(self, job: dict[str, Any]) -> None:
        """One step of the status flow per read, with the events a real job emits."""
        status = job["status"]
        if status in ("succeeded", "failed", "cancelled"):
            return
        if status == "running" and job["_step"] < self.behaviour.steps:
            job["_step"] += 1
            n, total = job["_step"], self.behaviour.steps
            self._event(job["id"], f"Step {n}/{total}: training loss={1.0 / n:.2f}", "metrics", {"step": n, "total_steps": total, "train_loss": 1.0 / n})
            if n < total:
                return
        nxt = FLOW[FLOW.index(status) + 1]
        if nxt == "running" and self.behaviour.fail_job:
            code, message = self.behaviour.fail_job
            job.update(status="failed", finished_at=int(time.time()), error={"code": code, "message": message, "param": "training_file"})
            self._event(job["id"], f"Job failed: {message}", level="error")
            return
        job["status"] = nxt
        if nxt == "succeeded":
            job.update(finished_at=int(time.time()), fine_tuned_model=f"ft:{job['model']}:org-fake:{job['suffix'] or 'custom'}:{job['id'][-4:]}",
                       trained_tokens=1234)
            self._event(job["id"], "The job has successfully completed")
        else:
            self._event(job["id"], {"queued": "Job queued", "running": "Fine-tuning job started"}.get(nxt, f"Status: {nxt}"))

    def _events(self, jid: str) -> tuple[int, dict[str, Any]]:
        if jid not in self.state.jobs:
            return _error(404, None, f"No fine-tuning job found with id {jid}", "id")
        return 200, {"object": "list", "data": list(reversed(self.state.events[jid])), "has_more": False}

    def _event(self, jid: str, message: str, etype: str = "message", data: dict[str, Any] | None = None, level: str = "info") -> None:
        evs = self.state.events[jid]
        evs.append({"object": "fine_tuning.job.event", "id": f"ftevent-{jid[-4:]}-{len(evs) + 1:03d}", "created_at": int(time.time()),
                    "level": level, "message": message, "data": data or {}, "type": etype})

    @staticmethod
    def _public(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}
