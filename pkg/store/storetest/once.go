package storetest

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

// Namespaces of the suite's single-use values and records.
const (
	nsA = "storetest/a"
	nsB = "storetest/b"
)

// RFC 7523 §3 (jti of an assertion) and RFC 9449 §11.1 (jti of a DPoP
// proof): a value is accepted once until it expires.
func testUseOnce(t *testing.T, s store.Store) {
	c, key := ctx(t), id("jti")
	is(t, "first use", s.UseOnce(c, nsA, key, hour()), nil)
	is(t, "second use", s.UseOnce(c, nsA, key, hour()), store.ErrReplay)
	is(t, "third use with a later exp", s.UseOnce(c, nsA, key, hour().Add(time.Hour)), store.ErrReplay)
}

// Namespaces keep kinds of values apart, and single-use keys are not code,
// token or family ids.
func testUseOnceNamespaces(t *testing.T, s store.Store) {
	c, key := ctx(t), id("jti")
	is(t, "use in namespace a", s.UseOnce(c, nsA, key, hour()), nil)
	is(t, "same key in namespace b", s.UseOnce(c, nsB, key, hour()), nil)
	is(t, "again in namespace b", s.UseOnce(c, nsB, key, hour()), store.ErrReplay)
	// Joining namespace and key must not make two pairs alike.
	is(t, "namespace a + prefix of the key", s.UseOnce(c, nsA+key[:3], key[3:], hour()), nil)
	is(t, "code named like the key", s.RedeemCode(c, key, hour()), nil)
	tokenRevoked(t, s, "token named like the key", key, false)
	refreshState(t, s, "family named like the key", key, 0, false)
	_, err := s.GetRecord(c, nsA, key)
	is(t, "record named like the key", err, store.ErrNotFound)
}

func testUseOnceConcurrent(t *testing.T, s store.Store) {
	c, key := ctx(t), id("jti")
	errs := race(func() error { return s.UseOnce(c, nsA, key, hour()) })
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, store.ErrReplay):
		default:
			t.Fatalf("concurrent use: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent use: %d of %d succeeded, want exactly 1", wins, len(errs))
	}
}

// store package documentation, "Expiry": a past exp stores nothing, but a
// live value is still refused.
func testUseOncePastExp(t *testing.T, s store.Store) {
	c, key := ctx(t), id("jti")
	is(t, "use", s.UseOnce(c, nsA, key, hour()), nil)
	is(t, "again with a past exp", s.UseOnce(c, nsA, key, time.Now().Add(-time.Minute)), store.ErrReplay)
}

// getRecord checks that the record under ns, key holds want.
func getRecord(t *testing.T, s store.Store, what, ns, key string, want []byte) {
	t.Helper()
	got, err := s.GetRecord(ctx(t), ns, key)
	is(t, what, err, nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: GetRecord = %q, want %q", what, got, want)
	}
}

// noRecord checks that there is no record under ns, key.
func noRecord(t *testing.T, s store.Store, what, ns, key string) {
	t.Helper()
	got, err := s.GetRecord(ctx(t), ns, key)
	is(t, what, err, store.ErrNotFound)
	if got != nil {
		t.Fatalf("%s: GetRecord returned %q with ErrNotFound", what, got)
	}
}

// Records hold short-lived state (a pushed request, RFC 9126 §2.2; a
// device approval, RFC 8628 §3.3): put, get, replace, delete.
func testRecordPutGet(t *testing.T, s store.Store) {
	c, key := ctx(t), id("rec")
	noRecord(t, s, "before put", nsA, key)
	v := []byte("first value")
	is(t, "put", s.PutRecord(c, nsA, key, v, hour()), nil)
	v[0] = 'X' // the store keeps its own copy
	getRecord(t, s, "get", nsA, key, []byte("first value"))
	got, _ := s.GetRecord(c, nsA, key)
	got[0] = 'Y' // and hands out copies
	getRecord(t, s, "get again", nsA, key, []byte("first value"))
	is(t, "put replaces", s.PutRecord(c, nsA, key, []byte("second"), hour()), nil)
	getRecord(t, s, "get after replace", nsA, key, []byte("second"))
	noRecord(t, s, "other namespace", nsB, key)
	is(t, "put in the other namespace", s.PutRecord(c, nsB, key, []byte("b"), hour()), nil)
	getRecord(t, s, "namespace b", nsB, key, []byte("b"))
	getRecord(t, s, "namespace a unchanged", nsA, key, []byte("second"))
	is(t, "delete", s.DeleteRecord(c, nsA, key), nil)
	noRecord(t, s, "after delete", nsA, key)
	is(t, "delete again", s.DeleteRecord(c, nsA, key), nil)
	getRecord(t, s, "namespace b after delete in a", nsB, key, []byte("b"))
	// Values: empty and the largest allowed round-trip unchanged.
	is(t, "put empty value", s.PutRecord(c, nsA, key, []byte{}, hour()), nil)
	getRecord(t, s, "empty value", nsA, key, []byte{})
	big := bytes.Repeat([]byte{0, 1, 0xff, 'x'}, store.MaxValueLen/4)
	is(t, "put largest value", s.PutRecord(c, nsA, key, big, hour()), nil)
	getRecord(t, s, "largest value", nsA, key, big)
}

// RFC 9126 §2.2: a request_uri is used once; Take returns and removes.
func testRecordTake(t *testing.T, s store.Store) {
	c, key := ctx(t), id("rec")
	_, err := s.TakeRecord(c, nsA, key)
	is(t, "take absent", err, store.ErrNotFound)
	is(t, "put", s.PutRecord(c, nsA, key, []byte("request"), hour()), nil)
	got, err := s.TakeRecord(c, nsA, key)
	is(t, "take", err, nil)
	if string(got) != "request" {
		t.Fatalf("take: %q, want %q", got, "request")
	}
	_, err = s.TakeRecord(c, nsA, key)
	is(t, "take again", err, store.ErrNotFound)
	noRecord(t, s, "get after take", nsA, key)
}

func testRecordTakeConcurrent(t *testing.T, s store.Store) {
	c, key := ctx(t), id("rec")
	is(t, "put", s.PutRecord(c, nsA, key, []byte("request"), hour()), nil)
	var got atomic.Int64
	errs := race(func() error {
		v, err := s.TakeRecord(c, nsA, key)
		if err == nil {
			got.Add(1)
			if string(v) != "request" {
				return errors.New("took " + string(v))
			}
		}
		return err
	})
	for _, err := range errs {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("concurrent take: unexpected error %v", err)
		}
	}
	if got.Load() != 1 {
		t.Fatalf("concurrent take: %d of %d got the record, want exactly 1", got.Load(), len(errs))
	}
}

// store package documentation, "Expiry": a put with a past exp stores
// nothing, and replaces (removes) a live record.
func testRecordPastExp(t *testing.T, s store.Store) {
	c, key := ctx(t), id("rec")
	is(t, "put with a past exp", s.PutRecord(c, nsA, key, []byte("v"), time.Now().Add(-time.Minute)), nil)
	noRecord(t, s, "after a put with a past exp", nsA, key)
	is(t, "put", s.PutRecord(c, nsA, key, []byte("v"), hour()), nil)
	is(t, "replace with a past exp", s.PutRecord(c, nsA, key, []byte("w"), time.Now().Add(-time.Minute)), nil)
	noRecord(t, s, "after replacing with a past exp", nsA, key)
}

// testBounds checks that every method refuses empty and oversized
// arguments with store.ErrInvalidArgument, and takes the largest valid
// ones.
func testBounds(t *testing.T, s store.Store) {
	c := ctx(t)
	longNS, longKey := strings.Repeat("n", store.MaxNamespaceLen+1), strings.Repeat("k", store.MaxKeyLen+1)
	bigValue := make([]byte, store.MaxValueLen+1)
	for _, tc := range []struct {
		name string
		call func(ns, key string) error
	}{
		{"UseOnce", func(ns, key string) error { return s.UseOnce(c, ns, key, hour()) }},
		{"PutRecord", func(ns, key string) error { return s.PutRecord(c, ns, key, []byte("v"), hour()) }},
		{"GetRecord", func(ns, key string) error { _, err := s.GetRecord(c, ns, key); return err }},
		{"TakeRecord", func(ns, key string) error { _, err := s.TakeRecord(c, ns, key); return err }},
		{"DeleteRecord", func(ns, key string) error { return s.DeleteRecord(c, ns, key) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is(t, "empty namespace", tc.call("", id("k")), store.ErrInvalidArgument)
			is(t, "empty key", tc.call(nsA, ""), store.ErrInvalidArgument)
			is(t, "namespace too long", tc.call(longNS, id("k")), store.ErrInvalidArgument)
			is(t, "key too long", tc.call(nsA, longKey), store.ErrInvalidArgument)
			err := tc.call(longNS[1:], longKey[:store.MaxKeyLen-25]+id(""))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("longest namespace and key: %v", err)
			}
		})
	}
	is(t, "PutRecord value too long", s.PutRecord(c, nsA, id("k"), bigValue, hour()), store.ErrInvalidArgument)
	for _, tc := range []struct {
		name string
		call func(list string) error
	}{
		{"AddStatusList", func(list string) error { return s.AddStatusList(c, list, hour()) }},
		{"SetStatus", func(list string) error { return s.SetStatus(c, list, 1, hour()) }},
		{"StatusIndexes", func(list string) error { _, err := s.StatusIndexes(c, list); return err }},
		{"StatusBit", func(list string) error { _, err := s.StatusBit(c, list, 1); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is(t, "empty list id", tc.call(""), store.ErrInvalidArgument)
			is(t, "list id too long", tc.call(longKey), store.ErrInvalidArgument)
			is(t, "longest list id", tc.call(longKey[:store.MaxKeyLen-25]+id("")), nil)
		})
	}
	is(t, "SetStatus index too large", s.SetStatus(c, id("list"), store.MaxStatusIndex+1, hour()), store.ErrInvalidArgument)
	is(t, "SetStatus largest index", s.SetStatus(c, id("list"), store.MaxStatusIndex, hour()), nil)
	_, err := s.StatusBit(c, id("list"), store.MaxStatusIndex+1)
	is(t, "StatusBit index too large", err, store.ErrInvalidArgument)
}
