"""Benchmarks: the latency claim and every overhead as ratios, in one run (`make bench`)."""
