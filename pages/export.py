"""Export: pick the target, download the JSONL (and the validation file, the left-out
report and the validation report).  Examples with errors are never exported broken."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import state
from ui.dup_choice import DUP_CHOICE
from ui.entry import through_app
from validators import session as core
from validators.session import CheckResult, ExportResult, Session

through_app()  # why: ui/entry.py

LAZY_REPORTS_ABOVE = 20_000  # examples; above this the reports are built only when downloaded
# Up to this many examples the page checks every target by itself: an export per target (15
# renders of every example) took 4-7 s of each new version's first visit at 10,000 examples.
MATRIX_AUTO_MAX = 2_000
DEDUPE_LABELS = {"none": "Keep duplicates", "exact": "Leave out exact duplicates", "near": "Leave out exact and near duplicates"}


def options(live: Session) -> tuple[str, float, str]:
    names = list(core.TARGETS)
    a, b, c = st.columns(3)
    default = core.default_target()  # OpenAI until its wind-down date, then the catalogue's next default
    target = a.selectbox("Export for", names, index=names.index(default) if default in names else 0,
                         format_func=lambda n: core.TARGETS[n].label, key="exp_target")
    split = b.slider("Validation split", 0.0, 0.5, 0.0, 0.05, key="exp_split",
                     help="Share of examples written to a separate validation file, which the training job uses to measure progress")
    default, said = live.dedupe_default(st.session_state.get(DUP_CHOICE))
    modes = list(core.DEDUPE_MODES)
    dedupe = c.selectbox("Duplicates", modes, index=modes.index(default), format_func=DEDUPE_LABELS.get, key="exp_dedupe")
    c.caption(said)
    for note in core.TARGETS[target].notes:
        st.info(note, icon=":material/info:")
    facts = core.facts(target)
    st.caption(f"Limits: {facts['limits']}. Training price: {facts['price']}.")
    if facts["tokens"]:
        st.caption(facts["tokens"])
    return target, split, dedupe


def left_out_summary(out: ExportResult) -> None:
    if not out.left_out:
        st.success("Every source row is in the export.")
        return
    st.warning(f"{len(out.left_out):,} source row(s) are left out of the export. The report lists each one with its reason.")
    st.dataframe(pd.DataFrame([{"reason": k.label, "rows": k.rows} for k in out.kinds[:20]]), hide_index=True, width="stretch")
    st.page_link("pages/validate.py", label="Fix them on the Validate page", icon=":material/fact_check:")


def file_names(live: Session, out: ExportResult, target: str) -> tuple[str, str | None, str]:
    """(training file, validation file or None, stem): the download names, which the next
    step's snippet refers to."""
    stem = Path(live.name).stem or "examples"
    ext = core.TARGETS[target].extension
    return f"{stem}.{target}.{ext}", (f"{stem}.{target}.validation.{ext}" if out.validation is not None else None), stem


def downloads(live: Session, res: CheckResult, out: ExportResult, target: str) -> None:
    train, valid, stem = file_names(live, out, target)
    if not out.train_examples:
        why = empty_reason(out)
        st.warning(why, icon=":material/block:")
        st.download_button("Download JSONL (0 examples)", b"", train, disabled=True, type="primary", key="dl_train",
                           icon=":material/download:", width="stretch", help=why, on_click="ignore")
        b, c = st.columns(2)
        b.download_button(f"Left-out report CSV ({len(out.left_out):,} rows)", out.report, f"{stem}.left-out.csv", mime="text/csv", key="dl_left", width="stretch", on_click="ignore")
        c.download_button("Validation report (JSON)", live.validation_report(out), live.report_names()[0],
                          mime="application/json", key="dl_report", width="stretch", on_click="ignore")
        return
    # The export files are passed as bytes (they are in memory already): the page keeps
    # them referenced while it shows them.  A deferred download (a callable) leaves the file
    # it generates unreferenced, and Streamlit deletes such files after any two script runs
    # end on the server, so with other users busy the browser's fetch could find it gone
    # (seen in the 20-session load test).  on_click="ignore": a click never reruns the page.
    # On large data the files are handed over on the click (a callable returning the bytes
    # already built): a download button given bytes makes the browser fetch the whole file at
    # once to check its address, 134 MB at 100,000 examples, gzip-compressed by the server
    # each time the export changes (seconds of CPU, competing with the page).  Small data
    # keeps the bytes on the page (see above: with many users busy, a generated file can go
    # before the browser fetches it).
    small = len(res.examples) <= LAZY_REPORTS_ABOVE
    train_data, valid_data = (out.train, out.validation) if small else (lambda: out.train, lambda: out.validation or b"")
    st.download_button(f"Download JSONL ({len(out.train_examples):,} examples)", train_data, train,
                       mime="application/jsonl", type="primary", key="dl_train", icon=":material/download:", width="stretch", on_click="ignore")
    a, b, c = st.columns(3)
    if valid is not None:
        a.download_button(f"Validation file ({len(out.validation_examples):,})", valid_data, valid,
                          mime="application/jsonl", key="dl_val", width="stretch", on_click="ignore")
    else:
        a.caption("No validation file (split is 0).")
    b.download_button(f"Left-out report CSV ({len(out.left_out):,} rows)", out.report, f"{stem}.left-out.csv", mime="text/csv", key="dl_left", width="stretch", on_click="ignore")
    # The reports are built only for the download on large data (a callable), right away on small.
    report_name, findings_name = live.report_names()
    c.download_button("Validation report (JSON)", live.validation_report(out) if small else lambda: live.validation_report(out), report_name,
                      mime="application/json", key="dl_report", width="stretch", on_click="ignore")
    c.download_button("Findings (CSV)", live.findings_csv() if small else live.findings_csv, findings_name, mime="text/csv",
                      key="dl_findings", width="stretch", on_click="ignore")


def empty_reason(out: ExportResult) -> str:
    """Why the export would hold no example, in the words of the left-out report."""
    listed = "; ".join(f"{k.rows:,} row(s): {k.label}" for k in out.kinds[:3])
    what = f" ({listed})" if listed else ""
    dup = out.duplicates_left_out > 0
    return (f"Nothing to download: the export would hold 0 examples{what}. "
            f"Fix the errors on the Validate page{', or keep the duplicates' if dup else ''}, then download.")


def next_step(live: Session, res: CheckResult, out: ExportResult, target: str) -> None:
    """The command, script or config that starts training on the file just downloaded."""
    tgt = core.TARGETS[target]
    chosen = None
    if tgt.family not in ("openai", "azure"):
        chosen = st.text_input("Base model to fine-tune", value=core.base_model(target, res.model.name),
                               key=f"exp_base_{tgt.family}")
    train, valid, _stem = file_names(live, out, target)
    st.markdown("**Next step: start training on this file**")  # constant text
    snippet = core.for_export(target, train, valid, res.model.name, out.train_examples, chosen or None)
    st.code(snippet, language="yaml" if tgt.family == "autotrain" else "python", wrap_lines=True)


def line_preview(live: Session, out: ExportResult, target: str) -> None:
    """The exact line every target would write for one example, the selected target first."""
    with st.expander("Preview one example in every target's layout"):
        exported = out.train_examples + out.validation_examples
        first = exported[0].index if exported else 1
        n = int(st.number_input(f"Example number (1–{len(live.examples):,})", 1, max(1, len(live.examples)), first, key="exp_preview_n"))
        names = [target, *[t for t in core.TARGETS if t != target]]
        lines = core.preview(live.example(n), names)
        for tab, name in zip(st.tabs([core.TARGETS[t].label for t in names]), names, strict=True):
            tab.code(lines[name], language="json", wrap_lines=True)


def matrix(live: Session) -> None:
    auto = len(live.examples) <= MATRIX_AUTO_MAX
    with st.expander("Which targets would accept this data?", expanded=auto):
        if not auto and not st.button("Check every target", key="exp_matrix"):
            st.caption("Builds an export for each target; takes a while on large data.")
            return
        rows = state.matrix_for(live)["rows"]
        st.dataframe(pd.DataFrame([matrix_row(r) for r in rows]), hide_index=True, width="stretch")
        st.caption("“pass” means the file meets the target's rules; rows with errors are left out all the same, and “rows left out” says how many.")


def matrix_row(r: dict[str, object]) -> dict[str, object]:
    """One target's line: pass/FAIL, examples, rows left out (always a number), what it needs."""
    needs = [str(n) for n in r["needs"]]  # type: ignore[union-attr]
    left = r.get("left_out")
    if left is None:  # older matrix rows say it in words only
        said = next((n for n in needs if "would be left out" in n), None)
        left = int(said.split()[0]) if said else 0
    needs = [n for n in needs if "would be left out" not in n]
    return {"target": r["label"], "passes": "pass" if r["pass"] else "FAIL", "examples": r["examples"], "rows left out": left,
            "needs": " · ".join(needs) or "—"}


def export_waiting(live: Session, target: str, dedupe: str) -> None:
    """Said in place of the figures and downloads while the export's inputs are still worked out
    in the background; redrawn every few seconds, and the whole page once they are ready."""
    if live.export_ready(dedupe):
        st.rerun()
    if not live.ready("export"):
        what = f"writing each of your {len(live.examples):,} examples as an export line"
    else:
        what = "comparing the examples after your edits, to find the duplicates to leave out"
    st.info(f"Preparing the files for {core.TARGETS[target].label}: {what}. The figures and the download buttons "
            "appear here by themselves in a few seconds.", icon=":material/hourglass_top:")


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Export")
    target, split, dedupe = options(live)
    if not live.export_ready(dedupe):  # large data: still prepared in the background; said, then filled in
        st.fragment(export_waiting, run_every=2)(live, target, dedupe)
        return
    out = state.export_for(live, target, split, dedupe)
    res = state.result(live)
    a, b, c = st.columns(3)
    a.metric("Training examples", f"{len(out.train_examples):,}")
    b.metric("Validation examples", f"{len(out.validation_examples):,}")
    c.metric("Rows left out", f"{len(out.left_out):,}")
    for problem in out.problems:
        st.error("This export does not meet a rule of the target:", icon=":material/warning:")
        st.text(problem)
    downloads(live, res, out, target)
    if out.train_examples and not out.problems:
        next_step(live, res, out, target)
    left_out_summary(out)
    line_preview(live, out, target)
    matrix(live)
    if importlib.util.find_spec("ui.submit_panel"):
        from ui import submit_panel

        st.divider()
        submit_panel.render(res, out, res.model.name)


main()
