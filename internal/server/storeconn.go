package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/redis"
)

// redisConn is a store.Store and store.Leaser over a Redis store that may
// not be reachable yet. An issuer must start, and serve client_credentials
// (which needs no store), while Redis is down; until the first connection
// succeeds every call fails with store.ErrUnavailable (answered 503
// temporarily_unavailable, and /readyz reports not ready), and a
// background loop retries. Once connected, the go-redis client reconnects
// by itself.
type redisConn struct {
	url  string
	log  zerolog.Logger
	cur  atomic.Pointer[redis.Store]
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

var errNotConnected = errors.New("server: redis not connected yet")

// connectRedis connects to url, waiting at most wait. A server that cannot
// be reached is retried in the background every retry; any other error
// (malformed URL, an evicting server) is returned.
func connectRedis(ctx context.Context, url string, wait, retry time.Duration, log zerolog.Logger) (*redisConn, error) {
	c := &redisConn{url: url, log: log, done: make(chan struct{})}
	cctx, cancel := context.WithTimeout(ctx, wait)
	s, err := redis.New(cctx, url)
	cancel()
	if err == nil {
		c.cur.Store(s)
		close(c.done)
		c.stop = func() {}
		return c, nil
	}
	if !errors.Is(err, store.ErrUnavailable) {
		return nil, err
	}
	log.Warn().Str("component", "store").Str("cause", err.Error()).Msg("redis unreachable; serving grants that need no store, retrying in the background")
	bg, stop := context.WithCancel(context.Background())
	c.stop = stop
	go c.retry(bg, wait, retry)
	return c, nil
}

func (c *redisConn) retry(ctx context.Context, wait, every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, wait)
		s, err := redis.New(cctx, c.url)
		cancel()
		if err == nil {
			c.cur.Store(s)
			c.log.Info().Str("component", "store").Msg("redis connected")
			return
		}
		if !errors.Is(err, store.ErrUnavailable) {
			c.log.Error().Str("component", "store").Str("cause", err.Error()).Msg("redis refused; still retrying")
		}
	}
}

func (c *redisConn) get() (*redis.Store, error) {
	if s := c.cur.Load(); s != nil {
		return s, nil
	}
	return nil, errors.Join(store.ErrUnavailable, errNotConnected)
}

// Close stops the retry loop and closes the connection.
func (c *redisConn) Close() error {
	var err error
	c.once.Do(func() {
		c.stop()
		<-c.done
		if s := c.cur.Load(); s != nil {
			err = s.Close()
		}
	})
	return err
}

func (c *redisConn) RedeemCode(ctx context.Context, codeID string, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.RedeemCode(ctx, codeID, exp)
}

func (c *redisConn) RotateRefresh(ctx context.Context, fid string, gen uint64, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.RotateRefresh(ctx, fid, gen, exp)
}

func (c *redisConn) RevokeFamily(ctx context.Context, fid string, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.RevokeFamily(ctx, fid, exp)
}

func (c *redisConn) FamilyRevoked(ctx context.Context, fid string) (bool, error) {
	s, err := c.get()
	if err != nil {
		return false, err
	}
	return s.FamilyRevoked(ctx, fid)
}

func (c *redisConn) RefreshState(ctx context.Context, fid string) (uint64, bool, error) {
	s, err := c.get()
	if err != nil {
		return 0, false, err
	}
	return s.RefreshState(ctx, fid)
}

func (c *redisConn) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.RevokeToken(ctx, jti, exp)
}

func (c *redisConn) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	s, err := c.get()
	if err != nil {
		return false, err
	}
	return s.TokenRevoked(ctx, jti)
}

func (c *redisConn) UseOnce(ctx context.Context, ns, key string, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.UseOnce(ctx, ns, key, exp)
}

func (c *redisConn) PutRecord(ctx context.Context, ns, key string, value []byte, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.PutRecord(ctx, ns, key, value, exp)
}

func (c *redisConn) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	s, err := c.get()
	if err != nil {
		return nil, err
	}
	return s.GetRecord(ctx, ns, key)
}

func (c *redisConn) TakeRecord(ctx context.Context, ns, key string) ([]byte, error) {
	s, err := c.get()
	if err != nil {
		return nil, err
	}
	return s.TakeRecord(ctx, ns, key)
}

func (c *redisConn) DeleteRecord(ctx context.Context, ns, key string) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.DeleteRecord(ctx, ns, key)
}

func (c *redisConn) AddStatusList(ctx context.Context, list string, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.AddStatusList(ctx, list, exp)
}

func (c *redisConn) StatusLists(ctx context.Context) ([]string, error) {
	s, err := c.get()
	if err != nil {
		return nil, err
	}
	return s.StatusLists(ctx)
}

func (c *redisConn) SetStatus(ctx context.Context, list string, idx uint64, exp time.Time) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.SetStatus(ctx, list, idx, exp)
}

func (c *redisConn) StatusIndexes(ctx context.Context, list string) ([]uint64, error) {
	s, err := c.get()
	if err != nil {
		return nil, err
	}
	return s.StatusIndexes(ctx, list)
}

func (c *redisConn) StatusBit(ctx context.Context, list string, idx uint64) (bool, error) {
	s, err := c.get()
	if err != nil {
		return false, err
	}
	return s.StatusBit(ctx, list, idx)
}

func (c *redisConn) Ping(ctx context.Context) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.Ping(ctx)
}

func (c *redisConn) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	s, err := c.get()
	if err != nil {
		return false, err
	}
	return s.AcquireLease(ctx, name, holder, ttl)
}

func (c *redisConn) ReleaseLease(ctx context.Context, name, holder string) error {
	s, err := c.get()
	if err != nil {
		return err
	}
	return s.ReleaseLease(ctx, name, holder)
}

var (
	_ store.Store  = (*redisConn)(nil)
	_ store.Leaser = (*redisConn)(nil)
)
