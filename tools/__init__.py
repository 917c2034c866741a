"""Developer tooling: build, lock, provision, diagram, local system, benchmarks. Never deployed."""
