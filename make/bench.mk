# Benchmarks (tools/bench): moto server on 127.0.0.1 as the AWS endpoint; results in bench/.
BENCH_ARGS ?=

.PHONY: bench
bench: $(VENV)/.installed ## Every benchmark figure, full length: table, bench/results.json, bench/latency.png
	$(PY) -m tools.bench --mode full $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: $(VENV)/.installed ## The same figures with fewer repetitions (about 2 minutes on 2 idle cores), round trips 0 and 10 ms
	$(PY) -m tools.bench --mode quick $(BENCH_ARGS)
