"""Tokens: tokens per example against the model's limit, with the usual statistics."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ui import state, views
from ui.entry import through_app
from ui.live import Live
from validators import catalog, tokens

through_app()  # a fresh server's first run must go through app.py


def model_picker(live: Live, key: str) -> None:
    """The active model for the whole workspace (tokens, limit, prices); changing it re-counts."""
    names = list(catalog.models())
    now = live.model().name
    pick = st.selectbox("Model", names, index=names.index(now) if now in names else 0, key=key,
                        help="The tokenizer, the token limit and the prices come from this model.")
    if pick != now:
        live.set_options(model=pick)


def histogram(values: np.ndarray, limit: int) -> alt.LayerChart:
    """Bars of tokens per example and the limit as a red rule.  When every example is far
    below the limit the axis stops short of it (or the bars would be one thin line) and the
    rule sits at the right edge, labelled as off the scale."""
    top = int(values.max()) if values.size else 0
    far = top * 1.3 < limit
    edge = max(10, int(top * 1.3)) if far else int(max(limit, top) * 1.05)
    counts, edges = np.histogram(values, bins=min(50, max(1, top)), range=(0, max(top, 1)))
    frame = pd.DataFrame({"from": edges[:-1], "to": edges[1:], "examples": counts})
    frame = frame[frame["examples"] > 0]
    scale = alt.Scale(domain=[0, edge], nice=False)
    bars = alt.Chart(frame).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=alt.X("from:Q", title="Tokens per example", scale=scale), x2="to:Q",
        y=alt.Y("examples:Q", title="Examples"), y2=alt.datum(0),
        tooltip=[alt.Tooltip("from:Q", title="from tokens"), alt.Tooltip("to:Q", title="to tokens"), "examples:Q"],
    )
    at = edge if far else limit
    text = f"limit {limit:,} →  (off the scale)" if far else f"limit {limit:,}"
    marks = pd.DataFrame({"at": [at], "text": [text]})
    rule = alt.Chart(marks).mark_rule(color="red", strokeDash=[6, 4], size=2).encode(x=alt.X("at:Q", scale=scale))
    label = alt.Chart(marks).mark_text(color="red", align="right", dx=-4, dy=4, baseline="top").encode(
        x=alt.X("at:Q", scale=scale), y=alt.value(0), text="text:N")
    return alt.layer(bars, rule, label)


def stats_table(total: np.ndarray, assistant: np.ndarray) -> pd.DataFrame:
    rows = []
    for name, values in (("Total per example", total), ("Assistant per example", assistant)):
        s = tokens.stats(values)
        rows.append({"": name, "min": s["min"], "mean": round(s["mean"], 1), "p10": s["p10"], "p90": s["p90"], "max": s["max"]})
    return pd.DataFrame(rows).set_index("")


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Tokens")
    model_picker(live, "tok_model")
    res = state.result(live)
    mask = res.usable_mask()
    total, assistant = res.counts.total[mask], res.counts.assistant[mask]
    limit = res.model.limit
    st.caption(f"Counted with {res.counts.encoding} for {res.model.name}; the training limit is {limit:,} tokens per example.")
    a, b, c = st.columns(3)
    a.metric("Total tokens", f"{int(total.sum()):,}")
    b.metric("Assistant tokens", f"{int(assistant.sum()):,}")
    over = res.over_limit()
    c.metric("Over the limit", f"{len(over):,}")
    st.altair_chart(histogram(total, limit), width="stretch")
    st.subheader("Statistics")
    st.dataframe(stats_table(total, assistant), width="stretch")
    st.subheader("Examples over the limit")
    if not over:
        st.success(f"Every example fits in {limit:,} tokens.")
        return
    pos = {e.index: p for p, e in enumerate(res.examples)}
    rows = [{"example": n, "row": live.example(n).row, "tokens": int(res.counts.total[pos[n]]), "user": views.cells(live.example(n))["user"][:200]} for n in over[:500]]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Drop or trim them with the one-click fixes on the Validate page.")
    st.page_link("pages/validate.py", label="Go to Validate", icon=":material/fact_check:")


main()
