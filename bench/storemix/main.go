// Command storemix measures the issuer's stores on its write mix (package
// bench/internal/storemix) through store.Store, in interleaved rounds:
// every round runs the memory store, the file store (pkg/store/file) and,
// when redis-server is installed, Redis with appendfsync always, at 1, 8
// and 64 concurrent writers, so that a disk other processes share slows
// them alike. It prints the median durable operations per second of each,
// with the lowest and highest round, and the median CPU time per
// operation, as Markdown tables (docs/STORE.md).
//
//	go run ./bench/storemix -rounds 5 -ops 4000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
	"github.com/sealedtoken/issuer/bench/internal/storemix"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
	"github.com/sealedtoken/issuer/pkg/store/memory"
	"github.com/sealedtoken/issuer/pkg/store/redis"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	ops := flag.Int("ops", 4000, "operations per store, writer count and round")
	noRedis := flag.Bool("no-redis", false, "leave Redis out even if redis-server is installed")
	flag.Parse()
	if *rounds < 1 || *rounds > 50 || *ops < 100 || *ops > 1_000_000 {
		fmt.Fprintln(os.Stderr, "storemix: -rounds 1..50, -ops 100..1000000")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, *rounds, *ops, !*noRedis); err != nil {
		fmt.Fprintln(os.Stderr, "storemix:", err)
		os.Exit(1)
	}
}

type impl struct {
	name string
	open func(ctx context.Context, dir string) (store.Store, func(), error)
}

func run(ctx context.Context, rounds, ops int, withRedis bool) error {
	dir, err := os.MkdirTemp("", "storemix-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	impls := []impl{
		{"memory", func(context.Context, string) (store.Store, func(), error) {
			s, err := memory.New()
			if err != nil {
				return nil, nil, err
			}
			return s, func() { _ = s.Close() }, nil
		}},
		{"file", func(ctx context.Context, dir string) (store.Store, func(), error) {
			s, err := file.Open(ctx, filepath.Join(dir, "store", "issuer.db"))
			if err != nil {
				return nil, nil, err
			}
			return s, func() { _ = s.Close() }, nil
		}},
	}
	if _, err := exec.LookPath("redis-server"); err == nil && withRedis {
		impls = append(impls, impl{"redis-aof-always", openRedis})
	}
	writers := []int{1, 8, 64}
	rates, cpus := map[string][]float64{}, map[string][]float64{}
	for r := range rounds {
		for _, w := range writers {
			for _, im := range impls {
				sub, err := os.MkdirTemp(dir, im.name+"-")
				if err != nil {
					return err
				}
				s, closeStore, err := im.open(ctx, sub)
				if err != nil {
					return fmt.Errorf("%s: %w", im.name, err)
				}
				c0, t0 := loadkit.ProcessCPU(), time.Now()
				err = storemix.Run(ctx, s, w, ops)
				wall, cpu := time.Since(t0), loadkit.ProcessCPU()-c0
				closeStore()
				_ = os.RemoveAll(sub)
				if err != nil {
					return fmt.Errorf("%s, %d writers: %w", im.name, w, err)
				}
				k := im.name + "/" + strconv.Itoa(w)
				rates[k] = append(rates[k], float64(ops)/wall.Seconds())
				cpus[k] = append(cpus[k], float64(cpu.Microseconds())/float64(ops))
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done %s\n", r+1, rounds, time.Now().Format(time.TimeOnly))
	}
	fmt.Printf("| store | 1 writer | 8 writers | 64 writers |\n|---|---:|---:|---:|\n")
	for _, im := range impls {
		fmt.Printf("| %s |", im.name)
		for _, w := range writers {
			v := rates[im.name+"/"+strconv.Itoa(w)]
			slices.Sort(v)
			fmt.Printf(" %.0f (%.0f–%.0f) |", v[len(v)/2], v[0], v[len(v)-1])
		}
		fmt.Println()
	}
	fmt.Printf("\ndurable operations per second: median of %d interleaved rounds of %d operations (lowest–highest)\n\n", rounds, ops)
	fmt.Printf("| store | 1 writer | 8 writers | 64 writers |\n|---|---:|---:|---:|\n")
	for _, im := range impls {
		fmt.Printf("| %s |", im.name)
		for _, w := range writers {
			fmt.Printf(" %.1f |", loadkit.Median(cpus[im.name+"/"+strconv.Itoa(w)]))
		}
		fmt.Println()
	}
	fmt.Printf("\nCPU time of this process per operation, µs (median; redis-server's own CPU not included)\n")
	return nil
}

// openRedis starts redis-server with appendfsync always on a free loopback
// port, its data under dir, and connects to it.
func openRedis(ctx context.Context, dir string) (store.Store, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(10 * time.Second)
	for !ping(addr) {
		if time.Now().After(deadline) {
			stop()
			return nil, nil, errors.New("redis-server did not answer PING")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s, err := redis.New(ctx, "redis://"+addr+"/0", redis.WithPoolSize(64))
	if err != nil {
		stop()
		return nil, nil, err
	}
	return s, func() { _ = s.Close(); stop() }, nil
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}
