package storemix

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// counting counts the writes of each kind that reach the store.
type counting struct {
	store.Store
	redeem, rotate, revoke atomic.Int64
}

func (c *counting) RedeemCode(ctx context.Context, id string, exp time.Time) error {
	c.redeem.Add(1)
	return c.Store.RedeemCode(ctx, id, exp)
}

func (c *counting) RotateRefresh(ctx context.Context, fid string, gen uint64, exp time.Time) error {
	c.rotate.Add(1)
	return c.Store.RotateRefresh(ctx, fid, gen, exp)
}

func (c *counting) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	c.revoke.Add(1)
	return c.Store.RevokeToken(ctx, jti, exp)
}

// TestRunMix: Run performs exactly n operations in the 5:4:1 mix, every
// rotation presenting its family's current generation (else the store
// would answer reuse and Run fail).
func TestRunMix(t *testing.T) {
	m, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := &counting{Store: m}
	if err := Run(t.Context(), c, 8, 1000); err != nil {
		t.Fatal(err)
	}
	if r, o, v := c.redeem.Load(), c.rotate.Load(), c.revoke.Load(); r != 500 || o != 400 || v != 100 {
		t.Fatalf("redeem %d rotate %d revoke %d, want 500 400 100", r, o, v)
	}
}
