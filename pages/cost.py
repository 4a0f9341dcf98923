"""Cost: the training estimate with its arithmetic, every model side by side, and the
break-even of fine-tuning against a longer few-shot prompt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from ui import state
from ui.entry import through_app
from validators import session as core
from validators.session import Session

through_app()  # why: ui/entry.py


def settings(live: Session) -> None:
    names = list(core.models())
    now = live.model().name
    if now not in names:
        names.append(now)  # an open base model chosen on the Tokens page
    a, b, c = st.columns(3)
    pick = a.selectbox("Model", names, index=names.index(now) if now in names else 0, key="cost_model")
    epochs_now = live.options.epochs
    auto = b.toggle("Epochs: auto (as OpenAI picks)", value=epochs_now is None, key="cost_auto",
                    help="An epoch is one pass of training over every example; each pass is billed.")
    epochs = None if auto else int(b.number_input("Epochs", min_value=1, max_value=50, value=int(epochs_now or 3), step=1, key="cost_epochs"))
    info = live.model() if pick == now else core.find_model(pick)
    price_now = live.options.price
    price = c.number_input("Training price, USD per 1M tokens", min_value=0.0, value=float(price_now if price_now is not None else info.training),
                           step=0.5, format="%.2f", key=f"cost_price_{pick}",
                           help="No per-token price: an open model trains on your own hardware. Enter a hosted service's price to compare."
                           if core.is_open(pick) and pick not in core.models() else f"Catalogue price for {pick}: ${info.training:.2f}")
    price_opt = None if pick != now or abs(price - info.training) < 1e-9 else price
    if (pick, epochs, price_opt) != (now, epochs_now, price_now):
        live.set_options(model=pick, epochs=epochs, price=price_opt)


def every_model(live: Session, epochs: int | None) -> pd.DataFrame:
    """Each model priced on its own tokenizer's counts (cached per workspace version); an
    active open base model first, with its own tokenizer's counts and the price set above."""
    rows = []
    res = state.result(live)
    if res.counts.is_open:
        est = res.estimate
        rows.append({"model": res.model.name, "USD per 1M training tokens": est.price_per_million, "epochs": est.epochs,
                     "billed tokens": est.billing_tokens, "cost USD": round(est.cost_usd, 2)})
    for name, info in core.models().items():
        counts = state.live_counts_if_ready(live, info.encoding)
        if counts is None:  # its tokenizer is still counting in the background: shown blank, filled in shortly
            rows.append({"model": name, "USD per 1M training tokens": info.training, "epochs": None,
                         "billed tokens": None, "cost USD": None})
            continue
        est = core.estimate_cost(counts, info.limit, info.training, epochs)
        rows.append({"model": name, "USD per 1M training tokens": info.training, "epochs": est.epochs,
                     "billed tokens": est.billing_tokens, "cost USD": round(est.cost_usd, 2)})
    table = pd.DataFrame(rows)
    for col in ("epochs", "billed tokens"):  # whole numbers, blank where not counted yet
        table[col] = table[col].astype("Int64")
    return table


def counting_shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table as words, "counting…" in the rows not counted yet (a blank number reads "None")."""
    shown = table.copy()
    for col, fmt in (("epochs", "{:,}"), ("billed tokens", "{:,}"), ("cost USD", "{:,.2f}")):
        shown[col] = [("counting…" if pd.isna(v) else fmt.format(v)) for v in table[col]]
    return shown


def every_model_table(live: Session, waited: bool = False) -> None:
    """The table of every model; while some tokenizers are still counting (large data, just
    after the upload) it shows the ready ones at once and fills in the rest every few seconds."""
    table = every_model(live, live.options.epochs)
    waiting = int(table["cost USD"].isna().sum())
    st.dataframe(counting_shown(table) if waiting else table, hide_index=True, width="stretch")
    if waited and not waiting:
        st.rerun()  # all counted: draw the page once more, without the timer
    if waiting:
        st.caption(f"Still counting the tokens for {waiting} model(s) with their own tokenizers; "
                   "their rows say “counting…” for now and fill in by themselves in a few seconds.")


def other_services(charged_tokens: int, open_model: str | None = None) -> None:
    """Every hosted service's training price from the catalogue, with its source and date."""
    st.subheader("Other services")
    if open_model:
        counted = (f"The estimate applies a service's price to the charged tokens above, counted with {open_model}'s own tokenizer "
                   "and chat template: exact for a service that trains that same base model, an estimate for the others. ")
    else:
        counted = ("The estimate applies a service's price to the charged tokens above (same epochs). Those tokens are "
                   "counted with OpenAI's tokenizer; every service here but Azure OpenAI counts with its own, "
                   "so for those the counts, the per-example limits and the estimate are approximate, not exact. ")
    st.caption("Training prices from the catalogue, each with the page it was read from and the date. " + counted
               + "A dash means no price is copied here; the 'what it covers' column says why.")
    rows = pd.DataFrame(core.service_rows(charged_tokens))
    if open_model:
        rows["token counts"] = f"{open_model}'s tokenizer"
    for col in ("USD per 1M training tokens", "estimate USD", "storage USD per month"):
        rows[col] = rows[col].map(dollars)
    st.dataframe(rows, hide_index=True, width="stretch", column_config={"source": st.column_config.LinkColumn("source")})


def dollars(value: float | None) -> str:
    """``$1.00``; ``under $0.01`` for a tiny non-zero amount; ``—`` where no price is copied."""
    if value is None or pd.isna(value):
        return "—"
    return "under $0.01" if 0 < value < 0.005 else f"${value:,.2f}"


def breakeven(training_cost: float, model: core.ModelInfo) -> None:
    st.subheader("Fine-tuning vs. a few-shot prompt")
    st.caption("A fine-tuned model needs a shorter prompt than a base model shown examples in every request. "
               "When does the training cost pay for itself?")
    models = core.models()
    names = list(models)
    a, b, c = st.columns(3)
    few = a.number_input("Few-shot prompt tokens per request", min_value=0, value=1500, step=100, key="be_few")
    short = b.number_input("Fine-tuned prompt tokens per request", min_value=0, value=200, step=50, key="be_short")
    out = c.number_input("Output tokens per request", min_value=0, value=150, step=50, key="be_out")
    base_name = a.selectbox("Base model for the few-shot prompt", names, index=names.index(model.name) if model.name in names else 0, key="be_base")
    base = models[base_name]
    cat_in, cat_out = core.base_prices(base.input, base.output, base.base_input, base.base_output)
    base_in = b.number_input("Base model input, USD per 1M tokens", min_value=0.0, value=float(cat_in), step=0.05, format="%.3f", key=f"be_in_{base_name}")
    base_out = c.number_input("Base model output, USD per 1M tokens", min_value=0.0, value=float(cat_out), step=0.05, format="%.3f", key=f"be_outp_{base_name}")
    if base.base_input is not None:
        st.caption(f"Base {base_name} (not fine-tuned): ${cat_in:.3f} in / ${cat_out:.3f} out per 1M tokens, from the catalogue. "
                   f"Fine-tuned {model.name}: ${model.input:.3f} in / ${model.output:.3f} out per 1M tokens.")
    else:
        st.caption(f"The catalogue has no price for {base_name} without fine-tuning, so its fine-tuned prices are shown; "
                   f"set the base model's own prices. Fine-tuned {model.name}: ${model.input:.3f} in / ${model.output:.3f} out per 1M tokens.")
    be = core.breakeven(int(few), int(short), int(out), base_in, base_out, model.input, model.output, training_cost)
    x, y, z = st.columns(3)
    x.metric("Few-shot, per request", f"${be['few_shot_per_request']:.6f}")
    y.metric("Fine-tuned, per request", f"${be['fine_tuned_per_request']:.6f}")
    req = be["breakeven_requests"]
    z.metric("Requests to break even", "never" if req is None else f"{int(np.ceil(req)):,}")
    if req is None:
        st.warning("With these numbers the fine-tuned model is not cheaper per request, so training never pays for itself.")
    else:
        st.text(f"Training ${training_cost:,.2f} / saving ${be['saving_per_request']:.6f} per request = {req:,.1f} → {int(np.ceil(req)):,} requests.")


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Cost")
    settings(live)
    res = state.result(live)
    est = res.estimate
    st.metric("Estimated training cost", f"${est.cost_usd:,.2f}", help="Before tax; the provider's own count decides.")
    st.code(est.arithmetic(), language=None, wrap_lines=True)
    if est.epochs_auto:
        st.caption(f"Auto epochs: {est.epochs} for {est.examples:,} examples (OpenAI's rule: aim at ~3 passes, 100–25,000 example-passes).")
    if res.counts.is_open:
        st.caption(f"{res.model.name} trains on your own hardware, so it has no price per token: the figure is its own tokenizer's count, "
                   f"each example cut at {res.model.limit:,} tokens, times the epochs. Enter a hosted service's price above to compare.")
    st.subheader("The same data on every model")
    waiting = any(live.counts_if_ready(info.encoding) is None for info in core.models().values())
    st.fragment(every_model_table, run_every=3 if waiting else None)(live, waiting)
    other_services(est.charged_tokens, res.model.name if res.counts.is_open else None)
    if res.counts.is_open:
        st.info("The break-even against a few-shot prompt needs the model's prices per request; pick an OpenAI model above to see it.")
        return
    breakeven(est.cost_usd, res.model)


main()
