package keys_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// exampleSet is a ring of one audience with a retired, an active and a
// pending key, built from fixed material so the output is stable.
func exampleSet() *keys.Set {
	day := 24 * time.Hour
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id string, b byte, activates time.Time) *keys.Key {
		k, err := keys.NewKey(id, keys.A256KW, bytes.Repeat([]byte{b}, keys.KeySize), keys.Lifecycle{
			Created: activates.Add(-time.Hour), Activates: activates,
			Retires: activates.Add(day), Expires: activates.Add(day + 10*time.Minute),
		})
		if err != nil {
			log.Fatal(err)
		}
		return k
	}
	set, err := keys.NewSet("https://api.example.com",
		mk("2026-02-28", 1, start.Add(-day)), mk("2026-03-01", 2, start), mk("2026-03-02", 3, start.Add(day)))
	if err != nil {
		log.Fatal(err)
	}
	return set
}

// A resource server loads the ring file (or an exported JWK Set) it was
// given and keeps it current with a Reloader; its token opener reads the
// Ring on every request.
func ExampleNewReloader() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keys-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "api.json")
	if err := keys.WriteFile(ctx, path, exampleSet()); err != nil {
		log.Fatal(err)
	}

	r, err := keys.NewReloader(ctx, path,
		keys.WithRingName("https://api.example.com"),
		keys.WithOnError(func(err error) { log.Printf("key reload: %v", err) }))
	if err != nil {
		log.Fatal(err) // no keys, no service
	}
	// Poll well within the issuer's propagation interval.
	if err := r.Start(ctx, 10*time.Second); err != nil {
		log.Fatal(err)
	}
	defer r.Stop()

	ring := r.Ring() // hand this to the token opener
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, kid := range []string{"2026-02-28", "2026-03-01", "2026-03-02", "unknown"} {
		_, ok := ring.Load().Opening(kid, now)
		fmt.Printf("%s opens: %v\n", kid, ok)
	}
	// Output:
	// 2026-02-28 opens: false
	// 2026-03-01 opens: true
	// 2026-03-02 opens: true
	// unknown opens: false
}

// The issuer exports the keys an audience's resource servers may open:
// a standard JWK Set (RFC 7517 §5) that go-jose, jwcrypto and npm jose
// load as it is.
func ExampleExportJWKS() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	data, err := keys.ExportJWKS(exampleSet(), now)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
	// Output:
	// {
	//   "keys": [
	//     {
	//       "use": "enc",
	//       "kty": "oct",
	//       "kid": "2026-03-01",
	//       "alg": "A256KW",
	//       "k": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI"
	//     },
	//     {
	//       "use": "enc",
	//       "kty": "oct",
	//       "kid": "2026-03-02",
	//       "alg": "A256KW",
	//       "k": "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM"
	//     }
	//   ]
	// }
}

// Plan walks a ring through its life: one key active from the start, its
// successor published 2×propagation before it activates, the old key
// removed once the last token it sealed has expired.
func ExamplePlan() {
	p := keys.Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 10 * time.Minute}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	set, err := keys.NewSetFromPolicy("https://api.example.com", start, p)
	if err != nil {
		log.Fatal(err)
	}
	for _, at := range []time.Duration{0, 22 * time.Hour, 24 * time.Hour, 24*time.Hour + 10*time.Minute} {
		now := start.Add(at)
		next, changed, err := keys.Plan(set, now, p)
		if err != nil {
			log.Fatal(err)
		}
		set = next
		fmt.Printf("+%-6s changed=%-5v", at, changed)
		for _, k := range set.Keys() {
			fmt.Printf(" [%s, activates %s]", k.State(now), k.Activates.Format("Jan 2 15:04"))
		}
		fmt.Println()
	}
	// Output:
	// +0s     changed=false [active, activates Mar 1 00:00]
	// +22h0m0s changed=true  [active, activates Mar 1 00:00] [pending, activates Mar 2 00:00]
	// +24h0m0s changed=false [retired, activates Mar 1 00:00] [active, activates Mar 2 00:00]
	// +24h10m0s changed=true  [active, activates Mar 2 00:00]
}

// The issuer keeps one ring per audience plus the internal ring in a
// directory, and rotates them with Tick (or Run).
func ExampleManager() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keys-example")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m, err := keys.NewManager(dir, keys.Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 30 * 24 * time.Hour},
		keys.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	created, err := m.Init(ctx, "https://api.example.com", keys.InternalRing)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created)
	fmt.Println("file:", keys.FileName("https://api.example.com"))

	now = now.Add(23 * time.Hour)
	changed, err := m.Tick(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rotated:", changed)
	for _, set := range m.List() {
		fmt.Println(set.Name(), "holds", set.Len(), "keys")
	}
	// Output:
	// created: [https://api.example.com internal]
	// file: https-api.example.com-137b9e5e4e13.json
	// rotated: [https://api.example.com internal]
	// https://api.example.com holds 2 keys
	// internal holds 2 keys
}
