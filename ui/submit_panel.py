"""Export page panel: start an OpenAI / Azure OpenAI / Together AI fine-tuning job and follow it.

The API key is read from a password field (or the environment) at the moment of submit and
handed to :func:`validators.submitting.submit.submit`; this module never copies it into
``st.session_state`` (only the widget itself holds it, for this browser session), never
logs it, and shows only scrubbed error text.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from validators.exporting import next_steps
from validators.exporting.targets import OPENAI_WIND_DOWN
from validators.submitting import submit

_LABELS = submit.LABELS
# Each provider reads its own export: OpenAI and Azure the same chat JSONL, Together its own layouts.
_SAME_FILE = {"openai": ("openai", "azure"), "azure": ("openai", "azure"), "together": ("together",)}
POLL_SECONDS = 5.0  # between status checks while following a job


def render(result: Any, export_result: Any, model: str) -> None:
    """Draw the panel under the download of ``export_result`` (an :class:`export.ExportResult`)."""
    st.subheader("Start the fine-tuning job")
    target = getattr(export_result, "target", "")
    family = target.split("-")[0]
    if family not in submit.PROVIDERS:
        st.info("Jobs can be started here on OpenAI, Azure OpenAI or Together AI: choose one of those export targets. "
                "For the other targets, use the next-step command shown with the download.")
        return
    choices = _SAME_FILE[family]
    provider = st.radio("Provider", choices, index=choices.index(family), format_func=_LABELS.get,
                        horizontal=True, key="submit_provider")
    if provider == "openai":
        st.warning(OPENAI_WIND_DOWN)
    settings = _settings_form(provider, model, export_result)
    key = _key_field(provider)
    if st.button("Submit fine-tuning job", type="primary", key="submit_go"):
        _run(export_result, settings, key)
    last = st.session_state.get("submit_last_job")
    if last:
        st.caption(f"Last job: {last['job_id']} — {last['status']}")


def _key_field(provider: str) -> str | None:
    env = submit.KEY_ENV[provider]
    typed = st.text_input("API key", type="password", key=f"submit_key_{provider}",
                          help=f"Kept in memory for this session only; never saved. Leave empty to use {env} from the environment.")
    if not typed and submit.key_from_env(provider):
        st.caption(f"Using {env} from the environment.")
    return typed or None


def _auto(value: float | int, cast: type) -> Any:
    """0 in a number field means "auto" (let the provider choose)."""
    return cast(value) if value else None


def _settings_form(provider: str, model: str, export_result: Any) -> submit.JobSettings:
    is_dpo = any(e.kind == "dpo" for e in getattr(export_result, "train_examples", []))
    base = st.text_input("Base model", value=next_steps.HOSTED_BASE_MODEL.get(provider, model), key=f"submit_model_{provider}")
    c1, c2, c3 = st.columns(3)
    epochs = c1.number_input("Epochs (0 = auto)", 0, 50, 0, key="submit_epochs")
    batch = c2.number_input("Batch size (0 = auto)", 0, 256, 0, key="submit_batch")
    lr = 0.0 if provider == "together" else c3.number_input("LR multiplier (0 = auto)", 0.0, 100.0, 0.0, step=0.1, key="submit_lr")
    c4, c5 = st.columns(2)
    suffix = c4.text_input("Model suffix", value="", key="submit_suffix")
    seed = c5.number_input("Seed (0 = random)", 0, 2**31 - 1, 0, key="submit_seed")
    s = submit.JobSettings(provider=provider, model=base, n_epochs=_auto(epochs, int), batch_size=_auto(batch, int),
                           learning_rate_multiplier=_auto(lr, float), suffix=suffix or None, seed=_auto(seed, int),
                           method="dpo" if is_dpo else "supervised")
    if provider == "azure":
        s.azure_endpoint = st.text_input("Azure endpoint", placeholder="https://my-resource.openai.azure.com", key="submit_azure_endpoint") or None
        s.api_version = st.text_input("API version", value=submit.DEFAULT_AZURE_API_VERSION, key="submit_api_version")
        s.training_type = st.selectbox("Training type", submit.AZURE_TRAINING_TYPES, key="submit_training_type")
    elif provider == "together":
        s.base_url = st.text_input("API address (empty = Together AI's own)", value="", key="submit_base_url") or None
    else:
        s.base_url = st.text_input("Base URL (OpenAI-compatible services; empty = OpenAI)", value="", key="submit_base_url") or None
    for problem in submit.check_settings(s):
        st.error(problem)
    return s


def _run(export_result: Any, settings: submit.JobSettings, key: str | None) -> None:
    bar = st.progress(0.0, text="Uploading the training file…")
    log = st.empty()
    lines: list[str] = []

    def on_progress(p: submit.Progress) -> None:
        lines.extend(p.new_events)
        bar.progress(p.fraction or 0.0, text=f"Job {p.job_id}: {p.status}")
        log.code("\n".join(lines[-15:]) or p.status)

    try:
        outcome = submit.submit(export_result.train, settings, api_key=key, validation=export_result.validation,
                                on_progress=on_progress, poll_interval=POLL_SECONDS)
    except submit.SubmitError as exc:
        bar.empty()
        st.error(str(exc))
        return
    st.session_state["submit_last_job"] = {"job_id": outcome.job_id, "status": outcome.status}
    if outcome.status == "succeeded":
        st.success(f"Fine-tuned model ready: {outcome.fine_tuned_model}")
    else:
        st.error(outcome.error or f"The job ended with status {outcome.status}.")
