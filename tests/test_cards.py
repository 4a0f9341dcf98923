"""Payment cards: a real issuer prefix and length as well as Luhn.

Recall is measured on the published test card numbers of every major network (they are
built to pass every check a real card passes); precision on numbers that pass Luhn but
that no network issues: the order number from issue 9, and generated look-alikes.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from validators.checking import pii

# Published test numbers: Stripe "Testing" docs, Adyen "Test card numbers", PayPal /
# Braintree sandbox "Testing" docs, and the Mir test numbers of the payment gateways.
TEST_CARDS = {
    "Visa": ["4242424242424242", "4000056655665556", "4111111111111111", "4012888888881881", "4005519200000004",
             "4009348888881881", "4217651111111119", "4500600000000061", "4222222222222", "4111111145551142", "4035501000000008"],
    "Mastercard": ["5555555555554444", "2223003122003222", "5200828282828210", "5105105105105100", "2222400070000005",
                   "5555341244441115", "2223000048400011", "2222410740360010", "5577000055770004"],
    "American Express": ["378282246310005", "371449635398431", "370000000000002"],
    "Discover": ["6011111111111117", "6011000990139424", "6011981111111113", "6011601160116611", "6555900000604105"],
    "Diners Club": ["3056930009020004", "36227206271667", "36006666333344", "38520000023237", "30569309025904"],
    "JCB": ["3566002020360505", "3569990010095841", "3530111333300000"],
    "UnionPay": ["6200000000000005", "6200000000000047", "6205500000000000004", "6243030000000001"],
    "Maestro": ["6771798021000008", "6304000000000000", "6759649826438453", "6799990100000000019"],
    "Mir": ["2200000000000004", "2201382000000013"],
    "Hipercard": ["6062828888666688"],
}


def test_every_published_test_card_is_found_with_its_network() -> None:
    for network, numbers in TEST_CARDS.items():
        for number in numbers:
            assert pii.card_network(number) == network, number
            assert pii.is_card_number(number), number
            spaced = " ".join(number[i:i + 4] for i in range(0, len(number), 4))
            for text in (f"my card is {number} thanks", f"card: {spaced}."):
                assert [h.kind for h in pii.scan(text)] == ["card"], text


def test_order_number_that_passes_luhn_is_not_a_card() -> None:
    assert pii.luhn_ok("113542617735902")
    assert not pii.is_card_number("113542617735902")
    assert pii.scan("Your order 113542617735902 has shipped.") == []


def test_right_prefix_wrong_length_is_not_a_card() -> None:
    amex16 = "3782822463100051"  # an Amex prefix, but Amex cards have 15 digits
    assert pii.card_network("378282246310005") == "American Express"
    assert pii.card_network(amex16) is None
    assert pii.card_network("5555555555554") is None  # Mastercard is 16 digits


def _with_check_digit(body: str) -> str:
    for d in "0123456789":
        if pii.luhn_ok(body + d):
            return body + d
    raise AssertionError(body)


@given(st.sampled_from("179"), st.integers(12, 18), st.randoms(use_true_random=False))
def test_luhn_valid_numbers_without_an_issuer_prefix_are_never_cards(first: str, length: int, rnd) -> None:
    body = first + "".join(rnd.choice("0123456789") for _ in range(length - 1))
    number = _with_check_digit(body)
    assert pii.luhn_ok(number)
    assert not pii.is_card_number(number)
    assert all(h.kind != "card" for h in pii.scan(f"ref {number} ok"))
