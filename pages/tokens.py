"""Tokens: tokens per example against the model's limit, with the usual statistics; for an
open base model, counted with its own tokenizer and chat template, cut at the trainer's max
sequence length, and what is trained."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from ui import state, trained_view, views
from ui.entry import through_app
from validators import session as core
from validators.session import CheckResult, Session

through_app()  # why: ui/entry.py

OTHER = "Another open model (tokenizer folder)…"


def model_names(now: str) -> list[str]:
    names = list(core.models()) + list(core.OFFLINE)
    if now not in names:
        names.append(now)
    return [*names, OTHER]


def model_picker(live: Session, key: str) -> None:
    """The active model for the whole workspace (tokens, limit, prices); changing it re-counts."""
    now = live.options.model or core.default_model()
    names = model_names(now)
    pick = st.selectbox("Model", names, index=names.index(now) if now in names else 0, key=key,
                        help="OpenAI models are counted as OpenAI bills them. Open base models (for TRL, Unsloth, AutoTrain) "
                             "are counted with their own tokenizer and chat template, as the trainer sees each example.")
    if pick == OTHER:
        folder = st.text_input("Folder holding the model's tokenizer files (tokenizer.json, tokenizer_config.json)", key=f"{key}_folder")
        if st.button("Count with this tokenizer", key=f"{key}_use") and folder.strip():
            use_model(live, folder.strip())
        return
    if pick != now:
        use_model(live, pick)


def use_model(live: Session, name: str) -> None:
    """Switch the workspace's model after checking its tokenizer can be loaded here."""
    if core.is_open(name) and name not in core.models():
        try:
            with st.spinner("Loading the tokenizer…"):
                core.load_tokenizer(name)
        except core.OpenTokenizerError as exc:
            st.error("This model's tokenizer is not available.", icon=":material/error:")
            st.text(str(exc))
            return
    live.set_options(model=name)
    st.rerun()


def seq_length(live: Session) -> None:
    """The trainer's max_seq_length: where an example is cut."""
    now = int(live.options.max_seq_length or core.DEFAULT_MAX_SEQ_LENGTH)
    value = int(st.number_input("Max sequence length (tokens the trainer keeps per example)", min_value=16, max_value=1_048_576,
                                value=now, step=256, key="tok_seq",
                                help="Set it to the max_seq_length / max_length you give TRL, Unsloth or AutoTrain. TRL's default is 1,024."))
    if value != now:
        live.set_options(max_seq_length=value)
        st.rerun()


def histogram(values: np.ndarray, limit: int) -> dict[str, Any]:
    """Bars of tokens per example and the limit as a red rule, as a Vega-Lite spec.  When every
    example is far below the limit the axis stops short of it (or the bars would be one thin
    line) and the rule sits at the right edge, labelled as off the scale.

    Written as the spec itself, not with Altair: importing Altair and validating a chart
    against its schema cost the Tokens page's first visit a second or more."""
    top = int(values.max()) if values.size else 0
    far = top * 1.3 < limit
    edge = max(10, int(top * 1.3)) if far else int(max(limit, top) * 1.05)
    counts, edges = np.histogram(values, bins=min(50, max(1, top)), range=(0, max(top, 1)))
    bars = [{"from": float(a), "to": float(b), "examples": int(n)} for a, b, n in zip(edges[:-1], edges[1:], counts) if n > 0]
    scale = {"domain": [0, edge], "nice": False}
    at = edge if far else limit
    text = f"limit {limit:,} →  (off the scale)" if far else f"limit {limit:,}"
    marks = {"values": [{"at": at, "text": text}]}
    return {"layer": [
        {"data": {"values": bars}, "mark": {"type": "rect", "stroke": "white", "strokeWidth": 0.5}, "encoding": {
            "x": {"field": "from", "type": "quantitative", "title": "Tokens per example", "scale": scale}, "x2": {"field": "to"},
            "y": {"field": "examples", "type": "quantitative", "title": "Examples"}, "y2": {"datum": 0},
            "tooltip": [{"field": "from", "type": "quantitative", "title": "from tokens"},
                        {"field": "to", "type": "quantitative", "title": "to tokens"}, {"field": "examples", "type": "quantitative"}]}},
        {"data": marks, "mark": {"type": "rule", "color": "red", "strokeDash": [6, 4], "size": 2},
         "encoding": {"x": {"field": "at", "type": "quantitative", "scale": scale}}},
        {"data": marks, "mark": {"type": "text", "color": "red", "align": "right", "dx": -4, "dy": 4, "baseline": "top"},
         "encoding": {"x": {"field": "at", "type": "quantitative", "scale": scale}, "y": {"value": 0}, "text": {"field": "text", "type": "nominal"}}},
    ]}


def stats_table(total: np.ndarray, assistant: np.ndarray, second: str = "Assistant per example") -> pd.DataFrame:
    rows = []
    for name, values in (("Total per example", total), (second, assistant)):
        s = core.stats(values)
        rows.append({"": name, "fewest": s["min"], "average": round(s["mean"], 1), "10% have at most": s["p10"],
                     "90% have at most": s["p90"], "most": s["max"]})
    return pd.DataFrame(rows).set_index("")


@state.guarded
def run_fix(live: Session, name: str) -> None:
    """A one-click fix for the active model's limit or control tokens."""
    res = live.check()
    info = res.model
    if name == "drop":
        fix = core.drop_over_limit(live.examples, [int(t) for t in res.counts.total], info.limit)
        label = "Drop examples over the limit"
    elif name == "trim":
        fix = core.trim_over_limit(live.examples, lambda e: core.count_one(e, info.encoding), info.limit)
        label = "Trim examples over the limit"
    else:
        fix = core.break_control_tokens(live.examples, core.special_tokens(info))
        label = "Break control tokens"
    live.apply_fix(fix, label)
    st.session_state["tok_flash"] = f"{label}: {fix.summary}"


def over_limit(live: Session, res: CheckResult, over: list[int]) -> None:
    info = res.model
    word = "max sequence length" if res.counts.is_open else "limit"
    st.subheader(f"Examples over the {word}")
    if not over:
        st.success(f"Every example fits in {info.limit:,} tokens.")
        return
    pos = {res.examples[p].index: p for p in np.flatnonzero(res.counts.total > info.limit).tolist()}  # of those over it only
    tok = core.load_tokenizer(info.name) if res.counts.is_open else None
    rows = []
    for n in over[:500]:
        ex = live.example(n)
        row = {"example": n, "row": ex.row, "tokens": int(res.counts.total[pos[n]])}
        if tok is not None:
            msgs, tools = core.example_messages(ex)
            k = core.cut_message(tok, msgs, info.limit, tools)
            row["cut in message"] = "" if k is None else f"{k} ({msgs[k - 1].get('role', '?')})"
        row["user"] = views.cells(ex)["user"][:200]
        rows.append(row)
    st.caption(f"{len(over):,} example(s) are longer than {info.limit:,} tokens: the trainer keeps the first {info.limit:,} and drops the rest.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    a, b = st.columns(2)
    a.button("Drop examples over the limit", key="tok_fix_drop", on_click=run_fix, args=(live, "drop"), width="stretch")
    b.button("Trim their earliest turns", key="tok_fix_trim", on_click=run_fix, args=(live, "trim"), width="stretch")


def control_table(rows: list[dict[str, Any]]) -> None:
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "example numbers"} for r in rows])
    table["examples"] = [("not checked" if r["examples"] is None else f"{r['examples']:,}") for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")


def control_table_waiting(live: Session, res: CheckResult) -> None:
    """Said in place of the table while every text is still being searched; redrawn every few
    seconds, and the whole page once the table is ready."""
    if live.control_rows_if_ready(res) is not None:
        st.rerun()
    st.info(f"Still looking for control tokens in the text of all {len(res.examples):,} examples, for every destination. "
            "This table fills in by itself in a few seconds.", icon=":material/hourglass_top:")


def control_tokens(live: Session, res: CheckResult) -> None:
    st.subheader("Control tokens in your text")
    st.caption("Text that a destination's tokenizer or service reads as a control token (end of turn, new turn…) instead of words: "
               "the turn ends early, or the file is refused.")
    rows = live.control_rows_if_ready(res)  # once per workspace version and model (a pass over every text)
    if rows is None:  # that pass still runs in the background (large data, just after the check or an edit)
        st.fragment(control_table_waiting, run_every=2)(live, res)
    else:
        control_table(rows)
    found = [f for f in res.findings if f.code == "reserved_token"]
    if not found:
        return
    st.warning(f"{len({f.example for f in found}):,} example(s) contain text that {res.model.name}'s tokenizer reads as a control token "
               "(end of turn, new turn…), not as words.", icon=":material/warning:")
    st.dataframe(pd.DataFrame([{"where": f.message.split(":")[0], "found": f.message} for f in found[:200]]), hide_index=True, width="stretch")
    st.button("Break control tokens (insert an invisible space)", key="tok_fix_break", on_click=run_fix, args=(live, "break"))


def trained_preview(live: Session, res: CheckResult) -> None:
    """One example through the chat template with the loss-carrying tokens highlighted."""
    st.subheader("What is trained")
    info = res.model
    tok = core.load_tokenizer(info.name)
    usable = [e.index for e in res.examples if not e.dropped and e.record is not None]
    if not usable:
        st.info("No example to show.")
        return
    number = int(st.selectbox("Example", usable, key="tok_preview"))
    msgs, tools = core.example_messages(live.example(number))
    try:
        rendered = tok.render(msgs, tools)
    except Exception as exc:  # noqa: BLE001 - the template's refusal is shown, not raised
        st.warning("This example cannot be formatted with the model's chat template.", icon=":material/warning:")
        st.text(str(exc))
        return
    if not rendered.markers:
        st.warning("This model's chat template does not mark the assistant's replies, so assistant-only loss cannot tell "
                   "the replies from the prompt: trainers that ignore this train on every token (shown here), and TRL "
                   "swaps in its own training template for models it knows, or stops with an error.", icon=":material/warning:")
    st.caption(f"As the trainer sees it, with {tok.source}: only the assistant's replies carry the loss "
               "(assistant-only loss); a reply marked weight 0 does not. " + trained_view.summary(rendered))
    st.html(trained_view.to_html(rendered.pieces, rendered.trained, set(tok.special_tokens)))


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Tokens")
    model_picker(live, "tok_model")
    res = state.result(live)
    counts = res.counts
    if counts.is_open:
        seq_length(live)
    if msg := st.session_state.pop("tok_flash", None):
        st.success(msg)
    mask = state.usable_mask(live, res)
    total, assistant = counts.total[mask], counts.assistant[mask]
    limit = res.model.limit
    if counts.is_open:
        tok = core.load_tokenizer(res.model.name)
        st.caption(f"Counted with {tok.source}, offline: each example through the model's chat template, with the special tokens "
                   f"it adds, exactly as the trainer formats it. Examples are cut at {limit:,} tokens.")
    else:
        st.caption(f"Counted with {counts.encoding} for {res.model.name}; the training limit is {limit:,} tokens per example.")
    a, b, c = st.columns(3)
    a.metric("Total tokens", f"{int(total.sum()):,}")
    b.metric("Trained tokens" if counts.is_open else "Assistant tokens", f"{int(assistant.sum()):,}")
    over = res.over_limit()  # NumPy picks the few over the limit
    c.metric("Over the max sequence length" if counts.is_open else "Over the limit", f"{len(over):,}")
    if counts.is_open and counts.images_uncounted is not None and (lost := int(counts.images_uncounted[mask].sum())):
        st.info(f"{lost:,} image(s) are not counted: each open vision model has its own image tokens; the figures are the text's.",
                icon=":material/image:")
    elif counts.images_uncounted is not None and (lost := int(counts.images_uncounted[mask].sum())):
        st.info(f"{lost:,} image(s) at web addresses are not counted: their size is unknown without downloading them "
                "(OpenAI's rule counts 85 tokens for a low-detail image, more by size for high detail).", icon=":material/image:")
    if counts.problems:
        st.warning(f"{len(counts.problems):,} example(s) cannot be formatted with this model's chat template and are not counted; "
                   "the Validate page lists them.", icon=":material/warning:")
    st.vega_lite_chart(spec=histogram(total, limit), width="stretch")
    st.subheader("Statistics")
    st.dataframe(stats_table(total, assistant, "Trained per example" if counts.is_open else "Assistant per example"), width="stretch")
    over_limit(live, res, over)
    control_tokens(live, res)
    if counts.is_open:
        trained_preview(live, res)


main()
