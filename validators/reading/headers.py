"""What a column header says about its column, in the languages people write headers in.

Headers are compared after :func:`key`: Unicode-normalised, case-folded, accents and Arabic
diacritics removed (so ``Réponse`` = ``reponse`` and ``سؤال`` = ``سوال``), punctuation and
``_`` read as spaces, plural ``s`` / ``es`` dropped.  A header matches a role *exactly*
(``Questions``, ``respuesta``, ``问题``) or by one of its *words* (``Customer question``,
``bot_response``); the first is "sure", the second "likely".
"""

from __future__ import annotations

import re
import unicodedata

# Each role's words, already in key() form.  Order inside a tuple does not matter.
WORDS: dict[str, tuple[str, ...]] = {
    "user": (
        "question", "query", "prompt", "input", "instruction", "utterance", "message", "text", "request", "human",
        "user", "user message", "customer message", "customer", "ask", "q", "inquiry", "enquiry", "user input",
        # es / fr / de / pt
        "pregunta", "consulta", "entrada", "instruccion", "mensaje", "texto", "solicitud", "usuario",
        "requete", "demande", "entree", "consigne", "utilisateur",
        "frage", "anfrage", "eingabe", "anweisung", "nachricht", "benutzer", "nutzer",
        "pergunta", "questao", "instrucao", "mensagem", "solicitacao",
        # zh / fa / ar
        "问题", "问", "提问", "问句", "输入", "指令", "用户", "查询", "用户问题",
        "سوال", "پرسش", "ورودی", "کاربر", "دستور",
        "استفسار", "مدخل", "مستخدم", "استعلام",
    ),
    "assistant": (
        "answer", "response", "reply", "output", "completion", "assistant", "gpt", "bot", "agent", "agent reply",
        "target", "a", "bot response", "assistant message", "agent response", "solution",
        "respuesta", "contestacion", "salida", "solucion",
        "reponse", "sortie",
        "antwort", "ausgabe", "erwiderung", "losung",
        "resposta", "saida", "solucao",
        "答案", "答", "回答", "回复", "输出", "答复", "客服", "解答",
        "جواب", "پاسخ", "خروجی",
        "اجابة", "رد", "اجابه",
    ),
    "system": (
        "system", "system prompt", "system message", "sys", "persona", "systemprompt",
        "sistema", "mensaje del sistema", "prompt del sistema", "systeme", "systemnachricht", "mensagem do sistema",
        "系统", "系统提示", "系统提示词", "سیستم", "پیام سیستم", "نظام", "رسالة النظام",
    ),
    "context": ("input", "context", "contexto", "kontext", "contexte", "上下文", "背景", "زمینه", "سیاق"),
    "weight": ("weight", "assistant weight", "train", "train on"),
    "chosen": ("chosen", "preferred", "preferred output", "preferred response"),
    "rejected": ("rejected", "non preferred", "non preferred output", "rejected response", "dispreferred"),
    "conversation": (
        "conversation id", "conversation", "conv id", "dialog id", "dialogue id", "thread id", "session id", "chat id",
        "dialog", "dialogue", "thread", "session", "chat", "conv", "ticket id", "ticket",
        "conversacion", "id conversacion", "dialogo", "gesprach", "unterhaltung", "conversa",
        "对话", "对话id", "会话", "会话id", "گفتگو", "شناسه گفتگو", "محادثة",
    ),
    "turn": (
        "turn", "turn id", "turn index", "turn idx", "turn number", "turn no", "step", "position", "order", "seq",
        "sequence", "message index", "msg idx", "utterance idx", "utterance index", "turno", "tour", "runde", "ordem",
        "轮次", "顺序", "序号", "نوبت", "ترتيب",
    ),
    "role": (
        "role", "speaker", "from", "author", "participant", "sender", "who", "speaker role", "interlocutor", "party",
        "actor", "rol", "hablante", "locuteur", "emetteur", "sprecher", "rolle", "falante", "papel",
        "角色", "说话人", "发言人", "نقش", "گوینده", "المتحدث", "متحدث", "دور",
    ),
    "content": (
        "content", "text", "message", "value", "utterance", "body", "turn text", "message text", "contenido",
        "texto", "mensaje", "contenu", "inhalt", "conteudo", "mensagem", "内容", "文本", "消息", "متن", "پیام", "نص",
        "رسالة", "محتوا",
    ),
}

# Words that make a header an identifier or a number, never text to train on.
ID_WORDS = frozenset({"id", "ids", "uuid", "guid", "key", "index", "idx", "no", "nr", "num", "number", "row", "编号", "شناسه", "رقم", "#"})

_ARABIC_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ۀ": "ه", "\u0640": None})


def key(header: str) -> str:
    """The header in comparable form: ``" Réponses_ "`` → ``"reponse"``, ``"السؤال"`` → ``"سوال"``."""
    text = unicodedata.normalize("NFKD", str(header)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).translate(_ARABIC_FOLD)
    text = text.replace("#", " # ")
    return " ".join(_singular(w) for w in re.sub(r"[\W_]+", " ", text).split())


def _singular(word: str) -> str:
    """English/Romance/German plurals and the Arabic article, just enough for headers."""
    if word.startswith("ال") and len(word) > 3:
        word = word[2:]
    if len(word) > 3 and word.isascii():
        if word.endswith("ies"):
            return word[:-3] + "y"
        if word.endswith(("sses", "ches", "shes", "xes")):
            return word[:-2]
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
        if word.endswith("en") and word[:-2] in ("frag", "antwort"):
            return word[:-2]
    if word in ("fragen",):
        return "frage"
    return word


def split_camel(header: str) -> str:
    """``QuestionText`` → ``Question Text`` (before :func:`key` folds the case)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(header))


_KEYS: dict[str, frozenset[str]] = {}


def _keys(role: str) -> frozenset[str]:
    if role not in _KEYS:
        _KEYS[role] = frozenset(key(w) for w in WORDS[role])
    return _KEYS[role]


def match(header: str, role: str) -> int:
    """2 = the header *is* a name of ``role``; 1 = one of its words (or word pairs) is; 0 = no."""
    k = key(split_camel(header))
    names = _keys(role)
    if k in names or k.replace(" ", "") in names:
        return 2
    words = k.split()
    if len(words) > 1:
        parts = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}
        if parts & names:
            return 1
    return 0


def id_like(header: str) -> bool:
    """``id``, ``Ticket ID``, ``row_no``, ``#``, ``编号``: an identifier column by its name."""
    words = key(split_camel(header)).split()
    return bool(words) and words[-1] in ID_WORDS or words == [] and "#" in header
