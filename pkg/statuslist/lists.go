package statuslist

import (
	"fmt"
	"maps"
)

// Lists is an immutable set of decoded status lists keyed by their URI: the
// lookup a resource server makes on every request, a map lookup and a bit
// test that allocate nothing. It is bounded: at most MaxLists lists of at
// most MaxTotalBytes decompressed bytes in all.
//
// To change it, With returns a new Lists; keep the current one in an
// atomic.Pointer and swap it, so that readers never lock. The zero Lists
// and a nil *Lists are empty.
type Lists struct {
	byURI map[string]*List
	bytes int
	limit Limits
}

// Limits bound a Lists.
type Limits struct {
	MaxLists      int // default 1024
	MaxTotalBytes int // default 64 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxLists <= 0 {
		l.MaxLists = 1024
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 64 << 20
	}
	return l
}

// NewLists returns an empty set with the given limits (zero fields take the
// defaults).
func NewLists(limits Limits) *Lists { return &Lists{limit: limits.withDefaults()} }

// With returns a new set holding l under uri, replacing any list there.
// Beyond the limits the error is ErrTooLarge and the set is unchanged.
func (s *Lists) With(uri string, l *List) (*Lists, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: nil list", ErrConfig)
	}
	limit := Limits{}.withDefaults()
	var old map[string]*List
	bytes := 0
	if s != nil {
		old, bytes = s.byURI, s.bytes
		if s.limit != (Limits{}) {
			limit = s.limit
		}
	}
	if prev, ok := old[uri]; ok {
		bytes -= len(prev.data)
	} else if len(old) >= limit.MaxLists {
		return nil, fmt.Errorf("%w: more than %d lists", ErrTooLarge, limit.MaxLists)
	}
	bytes += len(l.data)
	if bytes > limit.MaxTotalBytes {
		return nil, fmt.Errorf("%w: more than %d bytes of lists", ErrTooLarge, limit.MaxTotalBytes)
	}
	m := make(map[string]*List, len(old)+1)
	maps.Copy(m, old)
	m[uri] = l
	return &Lists{byURI: m, bytes: bytes, limit: limit}, nil
}

// Without returns a new set without the list at uri.
func (s *Lists) Without(uri string) *Lists {
	if s == nil {
		return nil
	}
	prev, ok := s.byURI[uri]
	if !ok {
		return s
	}
	m := maps.Clone(s.byURI)
	delete(m, uri)
	return &Lists{byURI: m, bytes: s.bytes - len(prev.data), limit: s.limit}
}

// List returns the list at uri.
func (s *Lists) List(uri string) (*List, bool) {
	if s == nil {
		return nil, false
	}
	l, ok := s.byURI[uri]
	return l, ok
}

// Len returns the number of lists.
func (s *Lists) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byURI)
}

// Status returns the status of the Referenced Token at ref (draft §8.3
// steps 6 and 7): ErrUnknownList when no list is held for ref.URI (the
// caller decides, by its policy, whether to refuse the token or fetch the
// list), ErrIndex when ref.Index is beyond it (the token must be refused).
// It allocates nothing.
func (s *Lists) Status(ref Reference) (Status, error) {
	l, ok := s.List(ref.URI)
	if !ok {
		return 0, ErrUnknownList
	}
	return l.Get(ref.Index)
}
