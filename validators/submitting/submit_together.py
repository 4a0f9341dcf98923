"""Start and follow a Together AI fine-tuning job with Together's official ``together`` SDK.

The same shape as the OpenAI path in :mod:`validators.submitting.submit` (upload, create, follow, plain
errors), with Together's own calls: ``files.upload(path, purpose="fine-tune", check=True)``
runs Together's file check on the bytes before anything leaves the machine, then
``fine_tuning.create`` / ``retrieve`` / ``list_events``.  The SDK uploads from a path, so the
bytes go to a private temporary folder that is removed right after.  The key lives only in
the client object; every message is scrubbed by the caller.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .submit import JobSettings, ProgressCallback

# Together's job statuses, mapped onto the ones the app shows for every provider.
STATUS = {"pending": "queued", "queued": "queued", "running": "running", "compressing": "running", "uploading": "running",
          "cancel_requested": "running", "cancelled": "cancelled", "error": "failed", "completed": "succeeded"}
TERMINAL = ("succeeded", "failed", "cancelled")


def make_client(s: JobSettings, api_key: str) -> Any:
    import together

    os.environ.setdefault("TOGETHER_DISABLE_TQDM", "true")  # the SDK's progress bars would fill the server log

    return together.Together(api_key=api_key, base_url=s.base_url or None, max_retries=0)


def upload(client: Any, name: str, data: bytes) -> str:
    """Together's own check, then the upload; returns the file id."""
    with tempfile.TemporaryDirectory(prefix="ft-upload-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(data)
        return client.files.upload(file=path, purpose="fine-tune", check=True).id


def create_job(client: Any, s: JobSettings, training_file: str, validation_file: str | None) -> Any:
    kwargs: dict[str, Any] = {"training_file": training_file, "model": s.model, "training_method": "dpo" if s.method == "dpo" else "sft",
                              "lora": True}
    if s.method != "dpo":
        kwargs["train_on_inputs"] = "auto"  # Together's default, said out loud (the SDK logs a notice otherwise)
    if validation_file:
        kwargs.update(validation_file=validation_file, n_evals=1)
    if s.n_epochs is not None:
        kwargs["n_epochs"] = s.n_epochs
    if s.batch_size is not None:
        kwargs["batch_size"] = s.batch_size
    if s.suffix:
        kwargs["suffix"] = s.suffix
    if s.seed is not None:
        kwargs["random_seed"] = s.seed
    if s.method == "dpo" and s.beta is not None:
        kwargs["dpo_beta"] = s.beta
    return client.fine_tuning.create(**kwargs)


def status_of(job: Any) -> str:
    raw = getattr(job.status, "value", job.status)
    return STATUS.get(str(raw), str(raw))


def output_model(job: Any) -> str | None:
    return getattr(job, "output_name", None) or getattr(job, "x_model_output_name", None)


def _fraction(events: list[Any]) -> float | None:
    for ev in reversed(events):
        total = getattr(ev, "total_steps", 0) or 0
        if total:
            return min(1.0, float(getattr(ev, "step", 0) or 0) / float(total))
    return None


def follow(client: Any, job_id: str, on_progress: ProgressCallback | None, poll_interval: float, timeout: float | None) -> Any:
    """Poll the job and its events until it completes, fails or is cancelled."""
    from .submit import Progress, SubmitError

    seen: set[str] = set()
    started = time.monotonic()
    fraction: float | None = None
    while True:
        job = client.fine_tuning.retrieve(job_id)
        events = list(client.fine_tuning.list_events(job_id).data)  # oldest first
        fresh = [e for e in events if (e.hash or e.created_at + e.message) not in seen]
        seen.update(e.hash or e.created_at + e.message for e in fresh)
        status = status_of(job)
        fraction = 1.0 if status == "succeeded" else (_fraction(fresh) or fraction)
        if on_progress:
            on_progress(Progress(job_id, status, [e.message for e in fresh], fraction, output_model(job)))
        if status in TERMINAL:
            return job
        if timeout is not None and time.monotonic() - started > timeout:
            raise SubmitError(f"Stopped following job {job_id} after {timeout:.0f} s; it is still {status}. It keeps running at Together AI.")
        time.sleep(poll_interval)


def error_text(client: Any, job: Any) -> str:
    """A failed job's reason: the last error event's message, if Together sent one."""
    try:
        events = list(client.fine_tuning.list_events(job.id).data)
    except Exception:  # noqa: BLE001 - the status alone still explains the outcome
        events = []
    errors = [e.message for e in events if str(getattr(e, "type", "")) == "job_error" or getattr(e, "level", None) == "error"]
    return f"The Together AI job ended {status_of(job)}" + (f": {errors[-1]}" if errors else ".")


def explain(exc: Exception) -> str:
    """The SDK exception in plain words, with what to do next."""
    import together

    if isinstance(exc, together.FileTypeError):
        return ("Together's own file check refused the training file before upload: "
                f"{str(exc).splitlines()[-1] if str(exc) else ''} Re-check it on the Validate page and export again.")
    if isinstance(exc, together.APIConnectionError):
        return "Could not reach Together AI: check the address and your network connection."
    if isinstance(exc, together.APIStatusError):
        status, message = exc.status_code, _message(exc)
        if status == 401:
            return "Together AI refused the API key (401): it is wrong or revoked. Paste a valid key and try again."
        if status == 404:
            return f"Together AI does not know this model or file (404): {message} Check the model name on Together's fine-tuning model list."
        if status == 429:
            return f"Together AI is rate-limiting or the credit limit is reached (429): {message} Wait, or check billing."
        return f"Together AI answered {status}: {message}"
    if isinstance(exc, ValueError):  # the SDK checks the settings against the model's limits before sending them
        return f"Together AI's limits for this model refuse the settings: {exc}"
    return f"Unexpected problem while talking to Together AI ({type(exc).__name__}: {exc})."


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", "") or exc)
