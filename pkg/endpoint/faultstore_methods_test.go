package endpoint_test

import (
	"context"
	"time"
)

// The store.Store methods added for SPEC §9–§12 (records, single-use
// values, status lists), failing like the others while the store is down.
// Kept apart from token_fixture_test.go so the store branch touches no
// line of it.

func (s *faultStore) UseOnce(ctx context.Context, ns, key string, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.UseOnce(ctx, ns, key, exp)
}

func (s *faultStore) PutRecord(ctx context.Context, ns, key string, value []byte, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.PutRecord(ctx, ns, key, value, exp)
}

func (s *faultStore) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.inner.GetRecord(ctx, ns, key)
}

func (s *faultStore) TakeRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.inner.TakeRecord(ctx, ns, key)
}

func (s *faultStore) DeleteRecord(ctx context.Context, ns, key string) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.DeleteRecord(ctx, ns, key)
}

func (s *faultStore) AddStatusList(ctx context.Context, list string, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.AddStatusList(ctx, list, exp)
}

func (s *faultStore) StatusLists(ctx context.Context) ([]string, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.inner.StatusLists(ctx)
}

func (s *faultStore) SetStatus(ctx context.Context, list string, idx uint64, exp time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.SetStatus(ctx, list, idx, exp)
}

func (s *faultStore) StatusBit(ctx context.Context, list string, idx uint64) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	return s.inner.StatusBit(ctx, list, idx)
}

func (s *faultStore) StatusIndexes(ctx context.Context, list string) ([]uint64, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.inner.StatusIndexes(ctx, list)
}
