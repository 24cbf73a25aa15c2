"""The product, asset and contract factories are shared with tests/contracts."""
from tests.contracts.conftest import clock, make_asset, make_contract, make_product, make_sla_policy  # noqa: F401
