"""Products and the customers ' assets (serial-numbered units of a product)."""
