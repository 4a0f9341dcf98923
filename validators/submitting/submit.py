"""Start a fine-tuning job on OpenAI, Azure OpenAI or Together AI and follow it until it ends.

Plain Python (no Streamlit), so the CLI, the Export page and the tests share one path.

The API key is held in memory only: it is passed in (or read from the environment), handed
to the provider's client (``openai``, or Together's ``together`` SDK through
:mod:`validators.submitting.submit_together`), and never written anywhere.  Every message this module produces
passes through :func:`scrub`, because the SDK's exception text can echo request details and
a provider's 401 body can quote part of the key.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..exporting.targets import OPENAI_WIND_DOWN

Provider = Literal["openai", "azure", "together"]
PROVIDERS: tuple[str, ...] = ("openai", "azure", "together")
KEY_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY", "together": "TOGETHER_API_KEY"}
LABELS = {"openai": "OpenAI", "azure": "Azure OpenAI", "together": "Together AI"}
AZURE_TRAINING_TYPES = ("GlobalStandard", "Standard", "developerTier")
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
TERMINAL = ("succeeded", "failed", "cancelled")
_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*.]{4,}|tgp_v1_[A-Za-z0-9_\-*.]{4,}|[A-Fa-f0-9]{64}|[A-Fa-f0-9]{32})\b")
_EXAMPLE_NO = re.compile(r"\b(?:Example|Line|example|line)\s+(\d+)")


class SubmitError(Exception):
    """A failure explained in plain words; its text never contains the API key."""


@dataclass
class JobSettings:
    """What the job is created with; "auto" (None) leaves a hyperparameter to the provider."""

    provider: Provider
    model: str
    n_epochs: int | None = None
    batch_size: int | None = None
    learning_rate_multiplier: float | None = None
    suffix: str | None = None
    seed: int | None = None
    method: Literal["supervised", "dpo"] = "supervised"
    beta: float | None = None  # DPO only
    training_type: str | None = None  # Azure: GlobalStandard | Standard | developerTier
    base_url: str | None = None  # OpenAI-compatible services, or Azure's /openai/v1/ endpoint
    azure_endpoint: str | None = None
    api_version: str | None = None


@dataclass
class Progress:
    """One update while following a job: its status, new event lines, and a 0–1 fraction if known."""

    job_id: str
    status: str
    new_events: list[str] = field(default_factory=list)
    fraction: float | None = None
    fine_tuned_model: str | None = None


@dataclass
class Outcome:
    job_id: str
    status: str
    training_file: str
    validation_file: str | None
    fine_tuned_model: str | None = None
    error: str | None = None


ProgressCallback = Callable[[Progress], None]


def scrub(text: str, api_key: str | None) -> str:
    """Remove the key (whole, or a masked fragment such as ``sk-abc***xyz``) from ``text``."""
    if api_key:
        text = text.replace(api_key, "[key hidden]")
    return _KEYLIKE.sub("[key hidden]", text)


def key_from_env(provider: str) -> str | None:
    """The key from OPENAI_API_KEY / AZURE_OPENAI_API_KEY / TOGETHER_API_KEY, read at the moment of use only."""
    return os.environ.get(KEY_ENV[provider]) or None


def check_settings(s: JobSettings) -> list[str]:
    """Problems with the settings, found before any network call."""
    out: list[str] = []
    if s.provider not in PROVIDERS:
        out.append(f"Provider must be one of {', '.join(PROVIDERS)}.")
    if not s.model.strip():
        out.append("Choose the base model to fine-tune.")
    if s.n_epochs is not None and not 1 <= s.n_epochs <= 50:
        out.append("Epochs must be between 1 and 50 (or auto).")
    if s.batch_size is not None and not 1 <= s.batch_size <= 256:
        out.append("Batch size must be between 1 and 256 (or auto).")
    if s.learning_rate_multiplier is not None and s.learning_rate_multiplier <= 0:
        out.append("The learning-rate multiplier must be above 0 (or auto).")
    if s.suffix:
        from ..exporting.targets.openai_azure import suffix_problems

        out.extend(suffix_problems(s.suffix, azure=s.provider == "azure"))
        if s.provider == "together" and len(s.suffix) > 40:
            out.append("Together AI takes a model suffix of at most 40 characters; shorten it.")
    if s.provider == "together" and s.learning_rate_multiplier is not None:
        out.append("Together AI takes no learning-rate multiplier (its learning rate is absolute); leave it on auto.")
    if s.provider == "azure":
        if not (s.azure_endpoint or s.base_url):
            out.append("Azure OpenAI needs the resource endpoint, e.g. https://my-resource.openai.azure.com.")
        if s.training_type and s.training_type not in AZURE_TRAINING_TYPES:
            out.append(f"Azure training type must be one of {', '.join(AZURE_TRAINING_TYPES)}.")
    return out


def make_client(s: JobSettings, api_key: str, max_retries: int = 0) -> Any:
    """An ``OpenAI`` or ``AzureOpenAI`` client; the key lives only inside this object."""
    import openai

    if s.provider == "azure" and s.azure_endpoint and not s.base_url:
        return openai.AzureOpenAI(
            azure_endpoint=s.azure_endpoint, api_key=api_key, api_version=s.api_version or DEFAULT_AZURE_API_VERSION, max_retries=max_retries
        )
    return openai.OpenAI(api_key=api_key, base_url=s.base_url or None, max_retries=max_retries)


def method_body(s: JobSettings) -> dict[str, Any]:
    """The ``method`` argument: supervised or DPO, with only the hyperparameters the user set."""
    hp: dict[str, Any] = {}
    if s.n_epochs is not None:
        hp["n_epochs"] = s.n_epochs
    if s.batch_size is not None:
        hp["batch_size"] = s.batch_size
    if s.learning_rate_multiplier is not None:
        hp["learning_rate_multiplier"] = s.learning_rate_multiplier
    if s.method == "dpo" and s.beta is not None:
        hp["beta"] = s.beta
    return {"type": s.method, s.method: {"hyperparameters": hp}}


def upload(client: Any, name: str, data: bytes) -> str:
    """Upload one JSONL file with purpose fine-tune; returns the file id."""
    f = client.files.create(file=(name, io.BytesIO(data), "application/jsonl"), purpose="fine-tune")
    return f.id


def create_job(client: Any, s: JobSettings, training_file: str, validation_file: str | None) -> Any:
    kwargs: dict[str, Any] = {"model": s.model, "training_file": training_file, "method": method_body(s)}
    if validation_file:
        kwargs["validation_file"] = validation_file
    if s.suffix:
        kwargs["suffix"] = s.suffix
    if s.seed is not None:
        kwargs["seed"] = s.seed
    if s.provider == "azure" and s.training_type:
        kwargs["extra_body"] = {"trainingType": s.training_type}
    return client.fine_tuning.jobs.create(**kwargs)


_STEP = re.compile(r"[Ss]tep\s+(\d+)\s*/\s*(\d+)")


def _fraction(events: list[Any]) -> float | None:
    """Progress from the newest metrics event (``data.step``/``total_steps``) or a "Step 3/10" line."""
    for ev in reversed(events):
        data = getattr(ev, "data", None) or {}
        if isinstance(data, dict) and data.get("total_steps"):
            return min(1.0, float(data.get("step", 0)) / float(data["total_steps"]))
        m = _STEP.search(getattr(ev, "message", "") or "")
        if m and int(m.group(2)):
            return min(1.0, int(m.group(1)) / int(m.group(2)))
    return None


def follow(
    client: Any, job_id: str, on_progress: ProgressCallback | None = None, poll_interval: float = 10.0, timeout: float | None = None
) -> Any:
    """Poll the job and its events until it succeeds, fails or is cancelled."""
    seen: set[str] = set()
    started = time.monotonic()
    fraction: float | None = None
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        page = client.fine_tuning.jobs.list_events(job_id, limit=50)
        fresh = [e for e in reversed(list(page.data)) if e.id not in seen]  # the API lists newest first
        seen.update(e.id for e in fresh)
        fraction = _fraction(fresh) or fraction
        if job.status == "succeeded":
            fraction = 1.0
        if on_progress:
            on_progress(Progress(job_id, job.status, [e.message for e in fresh], fraction, job.fine_tuned_model))
        if job.status in TERMINAL:
            return job
        if timeout is not None and time.monotonic() - started > timeout:
            raise SubmitError(f"Stopped following job {job_id} after {timeout:.0f} s; it is still {job.status}. It keeps running at the provider.")
        time.sleep(poll_interval)


def job_error_text(job: Any) -> str | None:
    """A failed job's ``error{code, message, param}`` as one sentence."""
    err = getattr(job, "error", None)
    if not err or not getattr(err, "message", None):
        return None if job.status == "succeeded" else f"The job ended with status {job.status}."
    text = f"The job failed ({err.code}): {err.message}"
    m = _EXAMPLE_NO.search(err.message or "")
    if m:
        text += f" Look at example {m.group(1)} of the uploaded file (re-check it with `python -m validators check`)."
    return text


def submit(
    train: bytes,
    settings: JobSettings,
    api_key: str | None = None,
    validation: bytes | None = None,
    on_progress: ProgressCallback | None = None,
    follow_job: bool = True,
    poll_interval: float = 10.0,
    train_name: str = "train.jsonl",
    timeout: float | None = None,
) -> Outcome:
    """Upload, create the job, and (optionally) follow it; every failure becomes a :class:`SubmitError`."""
    key = api_key or key_from_env(settings.provider)
    if not key:
        raise SubmitError(f"No API key: paste it in the key field, or set {KEY_ENV[settings.provider]} in the environment.")
    problems = check_settings(settings)
    if problems:
        raise SubmitError(" ".join(problems))
    try:
        return _run(train, settings, key, validation, on_progress, follow_job, poll_interval, train_name, timeout)
    except SubmitError as exc:
        raise SubmitError(scrub(str(exc), key)) from None
    except Exception as exc:  # noqa: BLE001 - every SDK/network failure must reach the user as a sentence
        raise SubmitError(scrub(explain(exc, settings), key)) from None


def _run(train: bytes, s: JobSettings, key: str, validation: bytes | None, on_progress: ProgressCallback | None,
         follow_job: bool, poll_interval: float, train_name: str, timeout: float | None) -> Outcome:
    if s.provider == "together":
        return _run_together(train, s, key, validation, on_progress, follow_job, poll_interval, train_name, timeout)
    client = make_client(s, key)
    train_id = upload(client, train_name, train)
    val_id = upload(client, train_name.replace(".jsonl", "") + ".validation.jsonl", validation) if validation else None
    job = create_job(client, s, train_id, val_id)
    if on_progress:
        on_progress(Progress(job.id, job.status))
    if follow_job:
        job = follow(client, job.id, on_progress, poll_interval, timeout)
    err = job_error_text(job) if job.status in ("failed", "cancelled") else None
    return Outcome(job.id, job.status, train_id, val_id, job.fine_tuned_model, err)


def _run_together(train: bytes, s: JobSettings, key: str, validation: bytes | None, on_progress: ProgressCallback | None,
                  follow_job: bool, poll_interval: float, train_name: str, timeout: float | None) -> Outcome:
    from . import submit_together as tg

    client = tg.make_client(s, key)
    train_id = tg.upload(client, train_name, train)
    val_id = tg.upload(client, train_name.replace(".jsonl", "") + ".validation.jsonl", validation) if validation else None
    job = tg.create_job(client, s, train_id, val_id)
    if on_progress:
        on_progress(Progress(job.id, tg.status_of(job)))
    if follow_job:
        job = tg.follow(client, job.id, on_progress, poll_interval, timeout)
    status = tg.status_of(job)
    err = tg.error_text(client, job) if status in ("failed", "cancelled") else None
    return Outcome(job.id, status, train_id, val_id, tg.output_model(job), err)


def _body_error(exc: Any) -> tuple[str | None, str]:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner.get("code"), str(inner.get("message") or "")
    return getattr(exc, "code", None), str(getattr(exc, "message", "") or exc)


def explain(exc: Exception, s: JobSettings) -> str:
    """The SDK exception in plain words, with what to do next."""
    if s.provider == "together":
        from .submit_together import explain as explain_together

        return explain_together(exc)
    import openai

    who = "Azure OpenAI" if s.provider == "azure" else "OpenAI"
    if isinstance(exc, openai.APIConnectionError):
        where = s.azure_endpoint or s.base_url or "api.openai.com"
        return f"Could not reach {who} at {where}: check the address and your network connection."
    if not isinstance(exc, openai.APIStatusError):
        return f"Unexpected problem while talking to {who} ({type(exc).__name__}: {exc})."
    code, message = _body_error(exc)
    status = exc.status_code
    if status == 401:
        return f"{who} refused the API key (401): it is wrong, revoked, or for another {'resource' if s.provider == 'azure' else 'organisation'}. Paste a valid key and try again."
    if status == 403 and code == "training_not_available":
        return f"{who} will not start fine-tuning jobs for this account (403 training_not_available). {OPENAI_WIND_DOWN} Export for Azure OpenAI, Together AI or another target instead."
    if status == 403:
        return f"{who} denied access (403{', ' + code if code else ''}): this key or project may not fine-tune this model. {message}"
    if status == 400:
        return _explain_400(who, code, message)
    if status == 404:
        return f"{who} does not know this model or file (404): {message} Check the model name supports fine-tuning."
    if status == 429:
        return f"{who} is rate-limiting or the quota is spent (429): {message} Wait, or check billing and limits."
    return f"{who} answered {status}{' (' + code + ')' if code else ''}: {message}"


def _explain_400(who: str, code: str | None, message: str) -> str:
    m = _EXAMPLE_NO.search(message)
    if m:
        return (f"{who} rejected the training file at example {m.group(1)} (400{', ' + code if code else ''}): {message} "
                f"Fix example {m.group(1)} (re-check with `python -m validators check`) and export again.")
    return f"{who} rejected the request (400{', ' + code if code else ''}): {message}"
