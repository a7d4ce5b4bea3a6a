package dpop_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
)

func TestMemoryReplay(t *testing.T) {
	now := testNow
	c, err := dpop.NewMemoryReplay(3, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exp := now.Add(time.Minute)
	if err := c.UseOnce(ctx, "a", exp); err != nil {
		t.Fatal(err)
	}
	if err := c.UseOnce(ctx, "a", exp); !errors.Is(err, dpop.ErrReplayed) {
		t.Fatalf("second use: %v", err)
	}
	for _, k := range []string{"b", "c"} {
		if err := c.UseOnce(ctx, k, exp); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 3 || c.Evicted() != 0 {
		t.Fatalf("Len %d Evicted %d", c.Len(), c.Evicted())
	}
	// Full: the oldest ("a") goes, counted as evicted before its expiry.
	if err := c.UseOnce(ctx, "d", exp); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 || c.Evicted() != 1 {
		t.Fatalf("Len %d Evicted %d", c.Len(), c.Evicted())
	}
	if err := c.UseOnce(ctx, "c", exp); !errors.Is(err, dpop.ErrReplayed) {
		t.Fatalf("c after eviction of a: %v", err)
	}
	// Expired entries go first, and a key may be used again after expiry.
	now = exp
	if err := c.UseOnce(ctx, "b", now.Add(time.Minute)); err != nil {
		t.Fatalf("b after expiry: %v", err)
	}
	if c.Len() != 1 || c.Evicted() != 1 {
		t.Fatalf("after expiry: Len %d Evicted %d", c.Len(), c.Evicted())
	}
	if _, err := dpop.NewMemoryReplay(0, nil); err == nil {
		t.Fatal("capacity 0 accepted")
	}
}

// TestMemoryReplayBounded: a flood of distinct keys never grows the cache
// beyond its capacity.
func TestMemoryReplayBounded(t *testing.T) {
	c, _ := dpop.NewMemoryReplay(1000, testClock)
	for i := range 20000 {
		if err := c.UseOnce(context.Background(), fmt.Sprint("k", i), testNow.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 1000 {
			t.Fatalf("cache grew to %d", c.Len())
		}
	}
	if c.Evicted() != 19000 {
		t.Fatalf("Evicted %d", c.Evicted())
	}
}
