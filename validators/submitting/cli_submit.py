"""``python -m validators submit FILE --provider openai|azure|together --model M ...``.

Kept apart from cli.py so the submit flow (and its API-key handling) reads in one place.
The file goes through the same check and export as ``export --to PROVIDER``, in memory;
nothing is written to disk, and the key comes from the environment only (never an argument,
so it stays out of shell history and process lists).
"""

from __future__ import annotations

import argparse
import sys

from .. import catalog
from ..exporting import export, next_steps
from . import submit


def add_parser(sub: argparse._SubParsersAction, common: object) -> None:
    """Register the ``submit`` subcommand; ``common`` adds the shared reading options."""
    s = sub.add_parser("submit", help="upload the data and start an OpenAI / Azure OpenAI / Together AI fine-tuning job")
    common(s)  # type: ignore[operator]
    s.add_argument("--provider", choices=submit.PROVIDERS, default=None,
                   help=f"openai, azure or together (key from {' / '.join(submit.KEY_ENV.values())}); default {default_provider()}")
    s.add_argument("--batch-size", type=int, default=None, help="1-256 (default auto)")
    s.add_argument("--lr-multiplier", type=float, default=None, help="learning-rate multiplier (default auto)")
    s.add_argument("--suffix", default=None, help="fine-tuned model name suffix (Azure: no '.')")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--beta", type=float, default=None, help="DPO beta (preference data only)")
    s.add_argument("--training-type", choices=submit.AZURE_TRAINING_TYPES, default=None, help="Azure training type")
    s.add_argument("--base-url", default=None, help="OpenAI-compatible base URL, or Azure's https://RESOURCE.openai.azure.com/openai/v1/")
    s.add_argument("--azure-endpoint", default=None, help="https://RESOURCE.openai.azure.com (uses AzureOpenAI)")
    s.add_argument("--api-version", default=None, help=f"Azure API version (default {submit.DEFAULT_AZURE_API_VERSION})")
    s.add_argument("--validation-file", default=None, help="a validation file, checked the same way")
    s.add_argument("--no-follow", action="store_true", help="start the job and return without following it")
    s.add_argument("--poll", type=float, default=10.0, help="seconds between status checks (default 10)")


def default_provider() -> str:
    """OpenAI before its wind-down date, then the catalogue's next default (a provider we can submit to)."""
    choice = catalog.default_target()
    return choice if choice in submit.PROVIDERS else "azure"


def default_model(provider: str) -> str:
    """The priced OpenAI model for OpenAI / Azure; a small open model Together fine-tunes otherwise."""
    return next_steps.HOSTED_BASE_MODEL.get(provider) or catalog.default_model()


def settings_from(args: argparse.Namespace, is_dpo: bool) -> submit.JobSettings:
    return submit.JobSettings(
        provider=args.provider, model=args.model or default_model(args.provider), n_epochs=args.epochs, batch_size=args.batch_size,
        learning_rate_multiplier=args.lr_multiplier, suffix=args.suffix, seed=args.seed, method="dpo" if is_dpo else "supervised",
        beta=args.beta, training_type=args.training_type, base_url=args.base_url, azure_endpoint=args.azure_endpoint, api_version=args.api_version,
    )


def _prepared(args: argparse.Namespace, check: object, path: str) -> tuple[export.ExportResult, int]:
    """Check and export one file for the provider, in memory; returns the export and its error count."""
    # Together trains open models: the OpenAI model table (token counts, price) does not apply to its model names.
    ns = argparse.Namespace(**{**vars(args), "file": path, **({"model": None} if args.provider == "together" else {})})
    result, ds = check(ns)  # type: ignore[operator]
    out = export.build(result, args.provider, 0.0, "none", 0, ds.source_rows)
    return out, len(result.errors)


def _print_progress(p: submit.Progress) -> None:
    for line in p.new_events:
        print(f"  {line}")
    pct = f" {p.fraction:.0%}" if p.fraction is not None else ""
    print(f"[{p.status}{pct}] job {p.job_id}", flush=True)


def cmd_submit(args: argparse.Namespace, check: object) -> int:
    """Exit 0 when the job was started (or succeeded when followed), 1 when it could not start or failed."""
    args.provider = args.provider or default_provider()
    train, errors = _prepared(args, check, args.file)
    problems = list(train.problems)
    val_bytes = None
    if args.validation_file:
        val, _ = _prepared(args, check, args.validation_file)
        problems += [f"validation file: {p}" for p in val.problems if "training examples" not in p]
        val_bytes = val.train
    if problems:
        for p in problems:
            print(f"PROBLEM: {p}", file=sys.stderr)
        print("Nothing was uploaded: fix the problems above first.", file=sys.stderr)
        return 1
    if errors:
        print(f"{len(train.left_out)} source row(s) with errors are left out of the upload (run `export` to see the report).", file=sys.stderr)
    settings = settings_from(args, any(e.kind == "dpo" for e in train.train_examples))
    print(f"Uploading {len(train.train_examples)} example(s) to {settings.provider} and starting a job on {settings.model}…")
    try:
        outcome = submit.submit(train.train, settings, validation=val_bytes, on_progress=_print_progress,
                                follow_job=not args.no_follow, poll_interval=args.poll)
    except submit.SubmitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if outcome.status == "succeeded":
        print(f"Job {outcome.job_id} succeeded: fine-tuned model {outcome.fine_tuned_model}")
        return 0
    if outcome.error:
        print(f"error: {outcome.error}", file=sys.stderr)
        return 1
    print(f"Job {outcome.job_id} is {outcome.status}. Follow it at the provider, or run again without --no-follow.")
    return 0
