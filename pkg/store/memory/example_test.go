package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// A code is redeemed once; a refresh token superseded by rotation revokes
// its family when presented again.
func Example() {
	s, err := memory.New()
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)

	fmt.Println(s.RedeemCode(ctx, "code-1", exp))
	fmt.Println(errors.Is(s.RedeemCode(ctx, "code-1", exp), store.ErrCodeReused))

	fmt.Println(s.RotateRefresh(ctx, "family-1", 0, exp)) // generation 0 -> 1
	fmt.Println(s.RotateRefresh(ctx, "family-1", 0, exp)) // generation 0 again
	revoked, _ := s.FamilyRevoked(ctx, "family-1")
	fmt.Println(revoked)
	// Output:
	// <nil>
	// true
	// <nil>
	// store: refresh token reused
	// true
}

// RefreshState reads a family without rotating it: the refresh token of
// the current generation is the only one introspection reports active.
func ExampleStore_RefreshState() {
	s, _ := memory.New(memory.WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)

	fmt.Println(s.RefreshState(ctx, "family-1")) // never seen
	_ = s.RotateRefresh(ctx, "family-1", 0, exp)
	_ = s.RotateRefresh(ctx, "family-1", 1, exp)
	fmt.Println(s.RefreshState(ctx, "family-1"))
	fmt.Println(s.RefreshState(ctx, "family-1")) // reading changed nothing
	_ = s.RotateRefresh(ctx, "family-1", 0, exp) // reuse
	fmt.Println(s.RefreshState(ctx, "family-1"))
	// Output:
	// 0 false <nil>
	// 2 false <nil>
	// 2 false <nil>
	// 2 true <nil>
}

// Leases let one goroutine at a time do a periodic job.
func ExampleStore_AcquireLease() {
	s, _ := memory.New(memory.WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()

	a, _ := s.AcquireLease(ctx, "key-rotation", "worker-a", time.Minute)
	b, _ := s.AcquireLease(ctx, "key-rotation", "worker-b", time.Minute)
	fmt.Println(a, b)
	_ = s.ReleaseLease(ctx, "key-rotation", "worker-a")
	b, _ = s.AcquireLease(ctx, "key-rotation", "worker-b", time.Minute)
	fmt.Println(b)
	// Output:
	// true false
	// true
}

// A full table refuses new entries instead of forgetting live ones.
func ExampleWithMaxEntries() {
	s, _ := memory.New(memory.WithMaxEntries(1))
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)

	fmt.Println(s.RedeemCode(ctx, "code-1", exp))
	err := s.RedeemCode(ctx, "code-2", exp)
	fmt.Println(errors.Is(err, memory.ErrFull), errors.Is(err, store.ErrUnavailable))
	fmt.Println(errors.Is(s.RedeemCode(ctx, "code-1", exp), store.ErrCodeReused))
	// Output:
	// <nil>
	// true true
	// true
}

// Len and MaxEntries tell how full each table is, for a metrics gauge.
func ExampleStore_MaxEntries() {
	s, _ := memory.New(memory.WithMaxEntries(1000))
	defer s.Close()
	_ = s.RedeemCode(context.Background(), "code-1", time.Now().Add(time.Minute))
	n := s.Len()
	fmt.Printf("codes %d/%d, families %d, tokens %d, status bits %d\n", n.Codes, s.MaxEntries(), n.Families, n.Tokens, n.StatusBits)
	// Output:
	// codes 1/1000, families 0, tokens 0, status bits 0
}
