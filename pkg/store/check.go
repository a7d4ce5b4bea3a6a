package store

import (
	"context"
	"fmt"
)

// CheckKey returns nil if ns and key are valid arguments of UseOnce and the
// record methods: both non-empty, ns at most MaxNamespaceLen bytes and key
// at most MaxKeyLen. Otherwise it returns an error wrapping
// ErrInvalidArgument that names the argument (never its value, which may be
// a client's). Implementations call it first.
func CheckKey(ns, key string) error {
	switch {
	case ns == "":
		return fmt.Errorf("store: empty namespace: %w", ErrInvalidArgument)
	case len(ns) > MaxNamespaceLen:
		return fmt.Errorf("store: namespace of %d bytes, longer than %d: %w", len(ns), MaxNamespaceLen, ErrInvalidArgument)
	case key == "":
		return fmt.Errorf("store: empty key: %w", ErrInvalidArgument)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("store: key of %d bytes, longer than %d: %w", len(key), MaxKeyLen, ErrInvalidArgument)
	}
	return nil
}

// CheckValue returns nil if value is at most MaxValueLen bytes, and an
// error wrapping ErrInvalidArgument otherwise. An empty value is valid.
func CheckValue(value []byte) error {
	if len(value) > MaxValueLen {
		return fmt.Errorf("store: record value of %d bytes, longer than %d: %w", len(value), MaxValueLen, ErrInvalidArgument)
	}
	return nil
}

// CheckList returns nil if list is a valid status-list id: non-empty and
// at most MaxKeyLen bytes. Otherwise it returns an error wrapping
// ErrInvalidArgument.
func CheckList(list string) error {
	switch {
	case list == "":
		return fmt.Errorf("store: empty status list id: %w", ErrInvalidArgument)
	case len(list) > MaxKeyLen:
		return fmt.Errorf("store: status list id of %d bytes, longer than %d: %w", len(list), MaxKeyLen, ErrInvalidArgument)
	}
	return nil
}

// CheckStatus returns nil if list is a valid status-list id (CheckList)
// and idx is at most MaxStatusIndex, and an error wrapping
// ErrInvalidArgument otherwise.
func CheckStatus(list string, idx uint64) error {
	if err := CheckList(list); err != nil {
		return err
	}
	if idx > MaxStatusIndex {
		return fmt.Errorf("store: status index %d above %d: %w", idx, uint64(MaxStatusIndex), ErrInvalidArgument)
	}
	return nil
}

type priorityKey struct{}

// Priority returns a copy of ctx that marks the store writes made with it
// as security-relevant: revocations made because an attack was detected,
// such as revoking the grant of a replayed authorization code (RFC 6749
// §4.1.2) or setting the status bits of that grant's tokens. A store that
// bounds its entries keeps a reserve for such writes, so a table filled by
// ordinary writes (or by a client revoking its own tokens) never refuses
// them; see the package documentation, "Security-relevant writes".
// RotateRefresh's own revocation on reuse needs no mark.
func Priority(ctx context.Context) context.Context {
	return context.WithValue(ctx, priorityKey{}, true)
}

// IsPriority reports whether ctx, or a context derived from it, was marked
// by Priority.
func IsPriority(ctx context.Context) bool {
	v, _ := ctx.Value(priorityKey{}).(bool)
	return v
}
