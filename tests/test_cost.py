"""Cost: the Cookbook's epochs heuristic and REFERENCE.md's worked checks."""

from __future__ import annotations

import numpy as np
import pytest

from validators import catalog
from validators.counting import cost
from validators.reading.readers import InputError


@pytest.mark.parametrize(("n", "epochs"), [(1, 25), (10, 10), (33, 3), (34, 3), (100, 3), (8333, 3), (8334, 2), (25001, 1), (100000, 1)])
def test_auto_epochs(n, epochs):
    assert cost.auto_epochs(n) == epochs


def test_worked_checks_from_the_reference():
    per_example = np.full(1000, 100)  # 100k tokens
    mini = catalog.model("gpt-4o-mini-2024-07-18")
    assert cost.estimate(per_example, mini.limit, mini.training, epochs=3).cost_usd == pytest.approx(0.90)
    turbo = catalog.model("gpt-3.5-turbo-0125")
    assert cost.estimate(per_example, turbo.limit, turbo.training, epochs=3).cost_usd == pytest.approx(2.40)


def test_billing_caps_each_example_at_the_limit():
    est = cost.estimate(np.array([10, 5000, 20000]), 4096, 8.0, epochs=2)
    assert est.billing_tokens == 10 + 4096 + 4096
    assert est.charged_tokens == 2 * est.billing_tokens
    assert "2 epoch(s)" in est.arithmetic()


def test_user_epochs_out_of_range_are_refused():
    with pytest.raises(ValueError):
        cost.estimate(np.array([1]), 10, 1.0, epochs=51)


def test_catalogue_has_source_date_and_every_reference_model():
    data = catalog.catalog()
    assert data["source"] and data["as_of"]
    assert catalog.model("gpt-4.1-nano-2025-04-14").limit == 32768
    assert catalog.model("gpt-3.5-turbo-0613").encoding == "cl100k_base"
    assert catalog.model("gpt-4o-mini").name == "gpt-4o-mini-2024-07-18"  # unique prefix
    with pytest.raises(InputError, match="Known models"):
        catalog.model("gpt-9")


def test_breakeven():
    b = cost.breakeven(2000, 200, 100, 0.8, 3.2, 0.8, 3.2, training_cost=9.0)
    assert b["saving_per_request"] == pytest.approx(1800 * 0.8 / 1e6)
    assert b["breakeven_requests"] == pytest.approx(9.0 / (1800 * 0.8 / 1e6))
    assert cost.breakeven(100, 200, 10, 1, 1, 1, 1, 5)["breakeven_requests"] is None


def test_break_even_uses_the_base_models_own_prices() -> None:
    for info in catalog.models().values():
        base_in, base_out = cost.base_prices(info.input, info.output, info.base_input, info.base_output)
        assert (base_in, base_out) == (info.base_input, info.base_output)
        assert base_in <= info.input and base_out <= info.output  # fine-tuned inference never costs less
    assert cost.base_prices(3.0, 12.0, None, None) == (3.0, 12.0)
