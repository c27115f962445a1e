"""Generated resource classes, one module per API group."""
