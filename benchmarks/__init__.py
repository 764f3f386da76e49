"""Benchmarks of ctchat: each prints figures beside a baseline measured in the same run; not imported by the product."""
