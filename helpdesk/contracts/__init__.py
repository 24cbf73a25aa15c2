"""Service contracts (what a customer is entitled to) and the time logged on cases."""
