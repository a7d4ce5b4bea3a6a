// Command storechoice compares the engines of package storechoice on the
// issuer's write mix in interleaved rounds: every round runs every engine
// at every writer count for the same number of operations, so a disk that
// other processes share slows them alike, and it prints the median
// operations per second of each, with the lowest and highest round, and
// the median CPU time per operation, as Markdown tables.
//
//	go run ./cmd/storechoice -rounds 5 -ops 4000
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/sealedtoken/issuer/bench/storechoice"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	ops := flag.Int("ops", 4000, "operations per engine, writer count and round")
	dir := flag.String("dir", "", "directory for the databases (default: a temporary one)")
	flag.Parse()
	if *rounds < 1 || *rounds > 50 || *ops < 100 || *ops > 1_000_000 {
		fmt.Fprintln(os.Stderr, "storechoice: -rounds 1..50, -ops 100..1000000")
		os.Exit(2)
	}
	base := *dir
	if base == "" {
		d, err := os.MkdirTemp("", "storechoice-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "storechoice:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		base = d
	}
	writers := []int{1, 8, 64}
	rates, cpus := map[string][]float64{}, map[string][]float64{}
	key := func(impl string, w int) string { return fmt.Sprintf("%s/%d", impl, w) }
	for r := range *rounds {
		for _, w := range writers {
			for _, impl := range storechoice.Impls {
				n := *ops
				if impl.Name == "bbolt-batch" && w == 1 {
					n = max(100, n/20) // 10 ms a write: keep the round short
				}
				el, cpu, err := storechoice.Run(impl, base, w, n)
				if err != nil {
					fmt.Fprintf(os.Stderr, "storechoice: %s, %d writers: %v\n", impl.Name, w, err)
					os.Exit(1)
				}
				k := key(impl.Name, w)
				rates[k] = append(rates[k], float64(n)/el.Seconds())
				cpus[k] = append(cpus[k], float64(cpu.Microseconds())/float64(n))
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done %s\n", r+1, *rounds, time.Now().Format(time.TimeOnly))
	}
	fmt.Printf("| impl | 1 writer | 8 writers | 64 writers |\n|---|---:|---:|---:|\n")
	for _, impl := range storechoice.Impls {
		fmt.Printf("| %s |", impl.Name)
		for _, w := range writers {
			v := rates[key(impl.Name, w)]
			slices.Sort(v)
			fmt.Printf(" %.0f (%.0f–%.0f) |", v[len(v)/2], v[0], v[len(v)-1])
		}
		fmt.Println()
	}
	fmt.Printf("\ndurable operations per second: median of %d interleaved rounds of %d operations (lowest–highest)\n\n", *rounds, *ops)
	fmt.Printf("| impl | 1 writer | 8 writers | 64 writers |\n|---|---:|---:|---:|\n")
	for _, impl := range storechoice.Impls {
		fmt.Printf("| %s |", impl.Name)
		for _, w := range writers {
			v := cpus[key(impl.Name, w)]
			slices.Sort(v)
			fmt.Printf(" %.0f |", v[len(v)/2])
		}
		fmt.Println()
	}
	fmt.Printf("\nCPU time of the process per operation, µs: median of the rounds\n")
}
