"""Disease-rise signals: the EARS methods, series per area from the warehouse, the command."""
