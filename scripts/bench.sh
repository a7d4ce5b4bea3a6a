#!/usr/bin/env bash
# Runs the SPEC §8 benchmarks and summarises them with benchstat.
#   COUNT (default 10) runs per benchmark; results land in bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
COUNT=${COUNT:-10}
mkdir -p bench/out
echo "== seal/open: crypttoken vs go-jose (count=$COUNT)"
$GO test -run '^$' -bench 'Benchmark(Seal|Open)$' -benchmem -count "$COUNT" ./bench/ | tee bench/out/crypto.txt
$GO run golang.org/x/perf/cmd/benchstat@latest -col /impl bench/out/crypto.txt | tee bench/out/crypto-benchstat.txt || true
echo "== token endpoint in-process"
$GO test -run '^$' -bench 'BenchmarkTokenEndpoint' -benchmem -count "$COUNT" ./bench/ | tee bench/out/endpoint.txt
$GO run golang.org/x/perf/cmd/benchstat@latest bench/out/endpoint.txt | tee bench/out/endpoint-benchstat.txt || true
if [ -d bench/tokenload ]; then
  echo "== token endpoint vs bare fasthttp, TLS and plain HTTP (40 alternating one-second rounds)"
  $GO run ./bench/tokenload -persistent -duration 1s -rounds 40 -warmup 2s | tee bench/out/load.txt
fi
