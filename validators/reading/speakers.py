"""Speaker labels of a one-message-per-row file → chat roles.

Files label speakers in their own words (``SYSTEM``/``USER``, ``agent``/``customer``,
``客服``/``用户``).  :func:`infer` proposes a role per label with the reason, from the label
itself and from how labels take turns inside conversations: a label that alternates with
the user is the agent (``assistant``), even when it is called ``SYSTEM``.  The user has the
last word; :data:`CHOICES` are what a label can become.
"""

from __future__ import annotations

from collections import Counter

from .headers import key

CHOICES = ("user", "assistant", "system", "tool", "ignore")

KNOWN: dict[str, str] = {}
for _role, _words in {
    "user": ("user", "human", "customer", "client", "visitor", "caller", "guest", "patient", "student", "usr", "u", "q",
             "question", "cliente", "usuario", "utilisateur", "kunde", "benutzer", "nutzer", "usuário", "用户", "客户", "顾客",
             "مشتری", "کاربر", "عميل", "مستخدم", "prompter", "person", "speaker1", "speaker 1"),
    "assistant": ("assistant", "gpt", "bot", "agent", "support", "rep", "representative", "operator", "model", "ai",
                  "chatbot", "advisor", "staff", "helpdesk", "a", "answer", "chatgpt", "asistente", "agente", "assistente",
                  "客服", "助手", "机器人", "پشتیبان", "دستیار", "مساعد", "وكيل", "speaker2", "speaker 2", "sales"),
    "system": ("system", "sys", "系统", "سیستم", "نظام", "sistema", "systeme"),
    "tool": ("tool", "function", "observation", "function response", "ipython"),
    "ignore": ("action", "actions", "note", "internal note", "event", "log", "annotation", "metadata", "system action"),
}.items():
    for _w in _words:
        KNOWN[key(_w)] = _role


def known(label: str) -> str | None:
    """The role a label names by itself, if any (``Agent`` → assistant, ``客服`` → assistant)."""
    return KNOWN.get(key(label))


def infer(conversations: list[list[str]]) -> tuple[dict[str, str], list[str], str]:
    """(role per label, reasons, how sure: "sure" / "likely" / "guess") from each
    conversation's labels in turn order.

    Labels not inferred are left out of the result (they then stay as they are and the
    checks name them as unknown roles), so nothing is guessed silently.
    """
    counts = Counter(label for conv in conversations for label in conv)
    roles: dict[str, str] = {}
    reasons: list[str] = []
    for label in counts:
        role = known(label)
        if role:
            roles[label] = role
    levels = ["likely" if _system_that_answers(conversations, roles, reasons) else "sure",
              _fill_unknown(conversations, counts, roles, reasons)]
    for label, role in roles.items():
        if role == "ignore":
            reasons.append(f"rows of speaker “{label}” ({counts[label]:,}) are not messages (actions, notes): they are left out and listed")
        elif not any(f"“{label}”" in r for r in reasons):
            reasons.append(f"speaker “{label}” is read as {role} (its name says so)")
    return roles, reasons, max(levels, key=("sure", "likely", "guess").index)


def _system_that_answers(conversations: list[list[str]], roles: dict[str, str], reasons: list[str]) -> bool:
    """``SYSTEM`` taking turns with the user, in a file with no assistant label, is the agent
    (True when a label was read so)."""
    if "assistant" in roles.values():
        return False
    changed = False
    users = {lb for lb, r in roles.items() if r == "user"}
    for label in [lb for lb, r in roles.items() if r == "system"]:
        if users and _answers(conversations, label, users):
            roles[label] = "assistant"
            reasons.append(f"speaker “{label}” takes turns with the user inside conversations, so it is the agent (assistant), not a system prompt")
            changed = True
    return changed


def _answers(conversations: list[list[str]], label: str, users: set[str]) -> bool:
    """True when, in most conversations where ``label`` speaks, it speaks after the user: a
    system prompt comes first, once; an agent replies (even with a note row in between)."""
    seen = after = 0
    for conv in conversations:
        if label not in conv:
            continue
        seen += 1
        first_user = next((i for i, lb in enumerate(conv) if lb in users), None)
        after += first_user is not None and any(lb == label for lb in conv[first_user + 1:])
    return seen > 0 and after * 2 >= seen


def _alternates(conversations: list[list[str]], label: str, others: set[str]) -> bool:
    """True when ``label`` mostly follows (or is followed by) one of ``others`` and speaks more than once."""
    swaps = repeats = total = 0
    for conv in conversations:
        n = conv.count(label)
        if not n:
            continue
        total += 1
        repeats += n > 1 or conv.index(label) > 0
        swaps += any(a in others and b == label or a == label and b in others for a, b in zip(conv, conv[1:]))
    return total > 0 and swaps * 2 >= total and repeats * 2 >= total


def _fill_unknown(conversations: list[list[str]], counts: Counter[str], roles: dict[str, str], reasons: list[str]) -> str:
    """Unknown labels that take turns with a known side get the other side; two unknown
    labels: the one that usually opens the conversation is the user (a guess)."""
    unknown = [lb for lb in counts if lb not in roles]
    if not unknown:
        return "sure"
    present = set(roles.values())
    if len(unknown) == 1 and len(present & {"user", "assistant"}) == 1:
        side = "user" if "user" in present else "assistant"
        other = "assistant" if side == "user" else "user"
        label = unknown[0]
        if _alternates(conversations, label, {lb for lb, r in roles.items() if r == side}):
            roles[label] = other
            reasons.append(f"speaker “{label}” takes turns with the {side}, so it is read as the {other}")
            return "likely"
    if len(unknown) == 2 and not present & {"user", "assistant"}:
        first = Counter(conv[0] for conv in conversations if conv and conv[0] in unknown)
        if first:
            opener = first.most_common(1)[0][0]
            other = unknown[1] if opener == unknown[0] else unknown[0]
            if _alternates(conversations, other, {opener}):
                roles[opener], roles[other] = "user", "assistant"
                reasons.append(f"speaker “{opener}” usually opens the conversation, so it is read as the user and “{other}” as the assistant (a guess: check it)")
                return "guess"
    for label in unknown:
        if label not in roles:
            reasons.append(f"speaker “{label}” ({counts[label]:,} row{'s' if counts[label] != 1 else ''}) is not a role we recognise: choose what it is")
    return "guess"
