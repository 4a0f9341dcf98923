"""Every finding code, declared once with its scope and severity.

A finding's ``code`` is its stable identifier (reports, the CLI's JSON, tests).  What the
code *is* also decides how the browser keeps results current: when one example is edited,
its ``EXAMPLE`` findings are re-checked at once, ``DATASET`` findings (which depend on the
other examples too) are refreshed when a page needs them, and ``READ`` findings (how the
file was read) stay as they were.  Declaring that here, once, replaces hand-kept lists of
"dataset-wide codes" and any matching on message text.

``tests/test_architecture.py`` checks that every code the checks emit is declared here,
with the severity it is emitted with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .model import Severity


class Scope(StrEnum):
    READ = "read"  # met while reading the file; never re-checked
    EXAMPLE = "example"  # depends on one example only: re-checked when that example changes
    DATASET = "dataset"  # depends on other examples too: duplicates, conflicts, size, system prompts


@dataclass(frozen=True)
class Code:
    name: str
    scope: Scope
    severity: Severity
    about: str  # one line for a reader of reports and of this list


def _codes(scope: Scope, severity: Severity, rows: str) -> list[Code]:
    """``name: about`` lines → codes (keeps the table below readable)."""
    out = []
    for line in rows.strip().splitlines():
        name, about = line.split(":", 1)
        out.append(Code(name.strip(), scope, severity, about.strip()))
    return out


_E, _W = "error", "warning"
CODES: dict[str, Code] = {c.name: c for c in [
    *_codes(Scope.READ, _W, """
        ragged_row: a row has more cells than the header; the extra cells were not read
        byte_order_mark: the file starts with a UTF-8 byte-order mark
        mixed_encoding: some lines are not in the file's text encoding
        encoding_detected: the file was read in a legacy code page detected from its bytes
        formula_not_calculated: a spreadsheet formula cell with no saved value
        missing_conversation_id: rows without a conversation id were grouped together
        csv_quotes: a row with stray quotes, read the way Excel reads it
        no_header: the first row looked like data, so the columns were named Column 1, Column 2, ...
        alternating_rows: one column of questions and answers on alternating rows, read as pairs
        wrapped_lines: a one-cell row that looks like the rest of the row above
        speaker_ignored: rows whose speaker the user chose to leave out of the conversations
    """),
    *_codes(Scope.EXAMPLE, _E, """
        empty_row: the source row is empty
        unreadable: the source row or line could not be turned into an example
        weight_not_assistant: `weight` on a message that is not the assistant's
        extra_key: a key the API rejects
        invalid_role: a role the API does not accept here
        invalid_weight: `weight` other than 0 or 1
        wrong_type: a value of the wrong JSON type
        empty_list: an empty list where items are required
        too_many_outputs: a preference output that is not exactly one assistant message
        invalid_name: a `name` with characters the API rejects
        invalid_image_url: an image URL that is neither https:// nor a data URL
        invalid_content: content that is neither text nor text/image parts
        no_assistant: no assistant message to train on
        empty_content: the reply to train on is empty
        invalid_tool_name: a tool name with characters the API rejects
        unknown_tool_call_id: a tool result for a call nobody made
        more_schema_errors: more format problems than are listed for one example
    """),
    *_codes(Scope.EXAMPLE, _W, """
        all_weight_zero: every assistant message has weight 0
        no_user: no user message
        system_not_first: the system message is not first
        consecutive_same_role: two messages in a row from the same role
        empty_message: an empty message other than the reply to train on
        surrounding_whitespace: content starts or ends with spaces or blank lines
        short_reply: a very short assistant reply
        undeclared_tool: a call to a tool the example does not declare
        unanswered_tool_call: a tool call without a tool message answering it
        dpo_input_not_user: a preference input that does not end with a user message
        dpo_same_outputs: the preferred and non-preferred replies are the same
        pii_email: an e-mail address in the text
        pii_phone: a phone number in the text
        pii_card: a payment card number in the text
        pii_iban: a bank account number (IBAN) in the text
        secret_api_key: an API key or token in the text
        secret_private_key: a private key in the text
        over_token_limit: longer than the model's token limit
        mojibake: garbled characters from text once read with the wrong encoding
        control_characters: an invisible control character in the text
        template_refused: the open model's chat template refuses the example, so it is not counted
        image_not_counted: images whose tokens cannot be counted here
        reserved_token: user text holding the tokenizer's control tokens
    """),
    *_codes(Scope.DATASET, _E, """
        too_few_examples: fewer usable examples than a fine-tuning job accepts
    """),
    *_codes(Scope.DATASET, _W, """
        few_examples: fewer examples than the usual starting point
        no_system_prompt: no example has a system message
        missing_system: this example lacks the system message the others have
        many_system_prompts: many different system prompts
        conflicting_answers: the same prompt with different answers
        exact_duplicate: the same example as an earlier one
        near_duplicate: nearly the same example as an earlier one
    """),
]}

# Codes built from a schema keyword or key name (``missing_content``, ``schema_maxLength``).
FAMILIES: dict[str, Code] = {
    "missing_": Code("missing_", Scope.EXAMPLE, _E, "a required key is missing"),
    "schema_": Code("schema_", Scope.EXAMPLE, _E, "any other format rule of the schema"),
}


def lookup(code: str) -> Code | None:
    """The declaration of ``code`` (a family's for ``missing_*`` / ``schema_*``), or None."""
    found = CODES.get(code)
    if found is not None:
        return found
    return next((c for prefix, c in FAMILIES.items() if code.startswith(prefix)), None)


def scope(code: str) -> Scope:
    """Where ``code`` belongs.  An undeclared code (the architecture test flags it) counts as
    per-example: re-checking it with its example is the safe guess."""
    found = lookup(code)
    return found.scope if found is not None else Scope.EXAMPLE


def is_dataset_wide(code: str) -> bool:
    return scope(code) is Scope.DATASET


def is_per_example(code: str) -> bool:
    return scope(code) is Scope.EXAMPLE


class LeftOut(StrEnum):
    """Why an example is left out, as a field (``Example.dropped_code``) rather than a
    sentence: pages and reports decide by it, and show ``Example.dropped`` to people."""

    DUPLICATE = "duplicate"  # another member of its duplicate group is kept
