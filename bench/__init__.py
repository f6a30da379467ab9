"""The benchmark harness: `make bench` (python -m bench.run) and its report in bench/results/."""
