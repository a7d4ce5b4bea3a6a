// Package bench holds the project's benchmarks and load tests, which span
// several packages and compare them against baselines measured in the same
// run (SPEC §8). It has no non-test code.
//
// Run, for example:
//
//	go test -run '^$' -bench . -count 10 ./bench/ | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest new.txt
package bench
