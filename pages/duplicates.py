"""Duplicates: exact and near groups side by side, differing words marked; keep one or all.

The differing words are marked with ⟦ ⟧ inside ``st.code`` blocks: user text is shown as
plain text, never as Markdown or HTML.
"""

from __future__ import annotations

import streamlit as st

from ui import state, views
from ui.dup_choice import DUP_CHOICE
from ui.entry import through_app
from validators.session import Session

through_app()  # why: ui/entry.py

GROUPS_PER_PAGE = 10


def threshold(live: Session) -> None:
    now = float(live.options.threshold)
    value = st.slider("How alike two examples must be to count as near duplicates", 0.5, 1.0, now, 0.05, key="dup_threshold",
                      help="Similarity is the share of 5-word phrases the two conversations have in common (1.0: the same text). "
                           "Lower finds more, looser near duplicates. Changing it searches again.")
    st.caption("Exact duplicates: every message is the same (same speaker, same text), ignoring upper/lower case and extra spaces. "
               "Near duplicates: most 5-word phrases are the same.")
    if abs(value - now) > 1e-9:
        live.set_options(threshold=value)


def keep_choice(group: list[int], key: str) -> int:
    return st.selectbox("Keep", group, index=0, key=key, format_func=lambda n: f"example {n}")


def show_group(live: Session, group: list[int], kind: str, gid: int, sims: dict[tuple[int, int], float]) -> None:
    first = group[0]
    head = f"{kind.capitalize()} group {gid + 1}: examples {', '.join(map(str, group))}"
    with st.container(border=True):
        st.markdown(f"**{head}**")  # numbers only
        keep_choice(group, f"dup_keep_{kind}_{gid}_{'_'.join(map(str, group))}")
        base = views.conversation_text(live.example(first))
        for other in group[1:]:
            a, b = views.mark_differences(base, views.conversation_text(live.example(other)))
            left, right = st.columns(2)
            left.caption(f"Example {first} (row {live.example(first).row})")
            left.code(a, language=None, wrap_lines=True)
            sim = sims.get((first, other))
            right.caption(f"Example {other} (row {live.example(other).row})" + (f" — similarity {sim:.2f}" if sim else ""))
            right.code(b, language=None, wrap_lines=True)


def apply_keep(live: Session, groups: list[tuple[str, int, list[int]]], keep_one: bool) -> str:
    """Keep the chosen example of each group and leave out the rest, or bring all back."""
    st.session_state[DUP_CHOICE] = "keep_one" if keep_one else "keep_all"  # the Export page starts from it
    if not keep_one:
        return live.keep_all_duplicates()
    chosen = {g: st.session_state.get(f"dup_keep_{kind}_{gid}_{'_'.join(map(str, group))}", group[0])
              for g, (kind, gid, group) in enumerate(groups)}
    return live.keep_one_per_group([group for _kind, _gid, group in groups], chosen)


def groups_waiting(live: Session) -> None:
    """Said in place of the groups while the search after an edit still runs in the background;
    redrawn every few seconds, and the whole page once the groups are ready."""
    if live.groups_ready():
        st.rerun()
    st.info(f"Comparing your {len(live.examples):,} examples again after your edits, to find the exact and near duplicates. "
            "The groups appear here by themselves in a few seconds.", icon=":material/hourglass_top:")


def main() -> None:
    live = state.need_workspace()
    if live is None:
        return
    st.title("Duplicates")
    threshold(live)
    if not live.groups_ready():  # large data: the search after an edit runs in the background; said, then filled in
        st.fragment(groups_waiting, run_every=2)(live)
        return
    res = state.result(live, full=True)
    dupes = res.dupes
    live_n = sum(1 for e in live.examples if not e.dropped)
    extra = dupes.extra_examples()
    a, b, c, d = st.columns(4)
    a.metric("Exact groups", f"{len(dupes.exact):,}")
    b.metric("Near groups", f"{len(dupes.near):,}")
    c.metric("Examples now", f"{live_n:,}")
    d.metric("After keeping one per group", f"{live_n - extra:,}", delta=f"-{extra:,}" if extra else None, delta_color="off")
    note = st.session_state.pop("dup_flash", None)
    if note:
        st.success(note)
    groups = [("exact", i, g) for i, g in enumerate(dupes.exact)] + [("near", i, g) for i, g in enumerate(dupes.near)]
    dropped_dupes = live.duplicates_left_out()
    mode = st.radio("What to do", ["Keep one per group (the chosen one)", "Keep all"], horizontal=True, key="dup_mode")
    if st.button("Apply", type="primary", key="dup_apply", disabled=not groups and not dropped_dupes):
        st.session_state["dup_flash"] = apply_keep(live, groups, mode.startswith("Keep one"))
        st.rerun()
    if dropped_dupes:
        st.caption(f"{dropped_dupes:,} example(s) are already left out as duplicates; “Keep all” brings them back.")
    if not groups:
        st.success("No duplicates at this threshold.")
        return
    st.caption("Words that differ are marked ⟦like this⟧. The first example of a group is kept unless you choose another.")
    exact_tab, near_tab = st.tabs([f"Exact ({len(dupes.exact):,})", f"Near ({len(dupes.near):,})"])
    for tab, kind, gs in ((exact_tab, "exact", dupes.exact), (near_tab, "near", dupes.near)):
        with tab:
            pages = max(1, -(-len(gs) // GROUPS_PER_PAGE))
            page = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key=f"dup_page_{kind}")) if pages > 1 else 1
            for gid in range((page - 1) * GROUPS_PER_PAGE, min(len(gs), page * GROUPS_PER_PAGE)):
                show_group(live, gs[gid], kind, gid, dupes.similarity)


main()
