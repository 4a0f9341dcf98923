"""PII and secret warnings: true positives, checksum negatives, and quiet on ordinary numbers."""

from __future__ import annotations

import pytest

from validators.checking import checks, pii
from validators.model import Example
from validators.reading import ingest

TRUE_POSITIVES = [
    ("email", "Write to jane.doe+billing@example.co.uk today"),
    ("email", "contact: SUPPORT@Mail.Example.ORG."),
    ("phone", "Call +44 20 7946 0958 after 9"),
    ("phone", "US line 415-555-2671"),
    ("phone", "(555) 123-4567 is the desk"),
    ("phone", "+1 (415) 555-2671"),
    ("phone", "tel. 020 7946 0958"),
    ("card", "Visa 4111 1111 1111 1111 exp 12/27"),
    ("card", "MC 5555-5555-5555-4444"),
    ("card", "Amex 3782 822463 10005"),
    ("card", "card:4012888888881881"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00 please"),
    ("iban", "GB82WEST12345698765432"),
    ("secret", "OPENAI_API_KEY=sk-proj-Abc123def456GHI789jkl012MNO345"),
    ("secret", "old key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD"),
    ("secret", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("secret", "token ghp_" + "A1b2C3d4" * 5),
    ("secret", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"),
    ("secret", "SLACK=xoxb-123456789012-abcdefABCDEF"),
    ("secret", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
    ("secret", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"),
    ("secret", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
]

QUIET = [
    "Order #123456789012345 shipped on 2024-01-15 at 10:30.",
    "Your order number is 4111 1111 1111 1112.",  # card-shaped, fails Luhn
    "Tracking 1Z999AA10123456784, parcel 00340434161094042557",
    "It costs $1,299.99 (or €1.299,00); tax 12.50 EUR.",
    "Version 1.2.3.4 and ISBN 978-3-16-148410-0.",
    "Dates: 15.01.2024, 2024/01/15, 01-15-2024.",
    "Invoice INV-2024-000123 for 3 items, SKU 12345678.",
    "All zeros 0000 0000 0000 0000 pass Luhn but are no card.",
    "The bearer of this letter; ask the task-force; desk-ask-me.",
    "Reference DE12 is not an account.",
    "Coordinates 51.5074, -0.1278 and 40.7128 N.",
    "Room 101, floor 12, 3 bags, 45 minutes.",
    "Email us via the contact form; @mentions like @support are fine.",
]


@pytest.mark.parametrize(("kind", "text"), TRUE_POSITIVES)
def test_true_positives(kind: str, text: str) -> None:
    assert [h.kind for h in pii.scan(text)] == [kind]


@pytest.mark.parametrize("text", QUIET)
def test_no_false_positives(text: str) -> None:
    assert pii.scan(text) == []


def test_luhn() -> None:
    assert pii.luhn_ok("4111111111111111") and pii.luhn_ok("79927398713")
    assert not pii.luhn_ok("4111111111111112") and not pii.luhn_ok("79927398710")


def test_iban_checksum() -> None:
    assert pii.iban_ok("DE89 3704 0044 0532 0130 00")
    assert not pii.iban_ok("DE88 3704 0044 0532 0130 00")


def test_scan_many_matches_scan_one_by_one() -> None:
    texts = [t for _, t in TRUE_POSITIVES] + QUIET + ["", "a@b.co 4111111111111111"]
    assert pii.scan_many(texts) == [pii.scan(t) for t in texts]


def test_private_key_block_does_not_swallow_the_next_text() -> None:
    texts = ["-----BEGIN PRIVATE KEY-----\nMIIabc", "hello -----END PRIVATE KEY----- world"]
    first, second = pii.scan_many(texts)
    assert first[0].end <= len(texts[0]) and second == []


def ex(i: int, *contents: str) -> Example:
    roles = ["user", "assistant"] * len(contents)
    return Example(i, (i + 1,), {"messages": [{"role": r, "content": c} for r, c in zip(roles, contents)]})


def test_findings_name_example_message_and_key_without_the_secret() -> None:
    key = "sk-proj-Abc123def456GHI789jkl012MNO345"
    examples = [ex(1, "hi", "fine"), ex(2, f"my key is {key}", "Mail me: a.b@example.com or b.c@example.com")]
    found = pii.check(examples)
    by_code = {f.code: f for f in found}
    assert set(by_code) == {"secret_api_key", "pii_email"}
    s, e = by_code["secret_api_key"], by_code["pii_email"]
    assert (s.example, s.row, s.message_index, s.key, s.severity) == (2, 3, 1, "content", "warning")
    assert (e.message_index, e.key) == (2, "content") and "2 items" in e.message
    assert all(key not in f.message and "a.b@example.com" not in f.message for f in found)


def test_list_content_tool_arguments_and_dpo_are_scanned() -> None:
    parts = Example(1, (2,), {"messages": [{"role": "user", "content": [{"type": "text", "text": "call 415-555-2671"}]}, {"role": "assistant", "content": "ok"}]})
    tool = Example(2, (3,), {"messages": [{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"email": "x@example.com"}'}}]}]})
    dpo = Example(3, (4,), {"input": {"messages": [{"role": "user", "content": "q"}]}, "preferred_output": [{"role": "assistant", "content": "AKIAIOSFODNN7EXAMPLE"}], "non_preferred_output": [{"role": "assistant", "content": "no"}]}, kind="dpo")
    got = {(f.example, f.code, f.key) for f in pii.check([parts, tool, dpo])}
    assert got == {(1, "pii_phone", "content"), (2, "pii_email", "tool_calls"), (3, "secret_api_key", "preferred_output")}


def test_redact_replaces_with_placeholders_and_is_undoable() -> None:
    original = [ex(1, "Card 4111 1111 1111 1111, mail a@example.com", "Call +44 20 7946 0958; key AKIAIOSFODNN7EXAMPLE"), ex(2, "nothing here", "ok")]
    snapshot = [dict(e.record) for e in original]
    fixed = pii.redact_pii(original)
    assert fixed.changed == [1]
    msgs = fixed.examples[0].record["messages"]
    assert msgs[0]["content"] == "Card [CARD], mail [EMAIL]"
    assert msgs[1]["content"] == "Call [PHONE]; key [SECRET]"
    assert fixed.examples[1] is original[1]
    assert [e.record for e in original] == snapshot, "the input is untouched, so undo is keeping the old list"
    assert "4 item(s)" in fixed.summary
    assert pii.check(fixed.examples) == []


def test_redact_only_chosen_kinds() -> None:
    fixed = pii.redact_pii([ex(1, "a@example.com and 4111111111111111", "ok")], kinds=["card"])
    assert fixed.examples[0].record["messages"][0]["content"] == "a@example.com and [CARD]"
    with pytest.raises(ValueError, match="unknown kinds"):
        pii.redact_pii([], kinds=["ssn"])


def test_check_run_reports_pii_from_a_real_file() -> None:
    rows = [("How do I pay?", "Use card 4111 1111 1111 1111 or mail pay@example.com")] + [(f"q{i}?", f"answer {i} is long enough") for i in range(11)]
    data = ("question,answer\n" + "".join(f'"{q}","{a}"\n' for q, a in rows)).encode()
    result = checks.check_dataset(ingest.load_bytes(data, "p.csv"))
    got = {(f.code, f.row) for f in result.warnings if f.code.startswith("pii_")}
    assert got == {("pii_card", 2), ("pii_email", 2)}
    assert not result.errors


def test_worker_process_gives_the_same_findings(monkeypatch) -> None:
    """Large data is scanned in validators.checking.pii_worker; the answer must match the in-process scan."""
    rows = [ex(i, f"Write to anna{i}@example.com or call +44 20 7946 09{i % 90 + 10}", f"Card 4111 1111 1111 1111 · é✓ {i}")
            for i in range(1, 40)]
    rows.append(ex(40, "key sk-proj-" + "a" * 30, "noted \ud800 lone"))  # a lone surrogate travels too
    here = [f.to_dict() for f in pii.check(rows)]
    monkeypatch.setattr(pii, "PARALLEL_MIN_CHARS", 1)
    there = [f.to_dict() for f in pii.check(rows)]
    assert here == there and len(here) >= 40 * 2
