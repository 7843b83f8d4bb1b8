"""Hostile-input suite: one module per attack class family, each class a test with its cases parametrized."""
