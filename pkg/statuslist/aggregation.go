package statuslist

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// AggregationMediaType is the media type of the aggregation document
// (draft §9.3).
const AggregationMediaType = "application/json"

// maxAggregated bounds the URIs ParseAggregation reads.
const maxAggregated = 100_000

// Aggregation is the Status List Aggregation document (draft §9.3): the
// URIs of the Status List Tokens an issuer publishes, served at its
// status_list_aggregation_endpoint (draft §9.1).
type Aggregation struct {
	StatusLists []string // "status_lists"
}

// AppendJSON appends {"status_lists":[…]} to dst.
func (a *Aggregation) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"status_lists":[`...)
	for i, u := range a.StatusLists {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, u)
	}
	return append(dst, `]}`...)
}

// MarshalJSON returns the document.
func (a *Aggregation) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil), nil }

// ParseAggregation reads an aggregation document: an object whose required
// "status_lists" is an array of absolute URIs (other members ignored).
// Errors wrap ErrMalformed.
func ParseAggregation(b []byte) (*Aggregation, error) {
	d := jsonscan.New(b)
	bad := fmt.Errorf("%w: not an aggregation document", ErrMalformed)
	if d.Expect('{') != nil {
		return nil, bad
	}
	var a *Aggregation
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return nil, bad
		}
		if !ok {
			break
		}
		if name != "status_lists" {
			if _, err := d.Skip(); err != nil {
				return nil, bad
			}
			continue
		}
		if a != nil {
			return nil, fmt.Errorf("%w: status_lists twice", ErrMalformed)
		}
		a = &Aggregation{StatusLists: []string{}}
		if d.Expect('[') != nil {
			return nil, fmt.Errorf("%w: status_lists is not an array", ErrMalformed)
		}
		for i := 0; ; i++ {
			more, err := d.Element(i == 0)
			if err != nil {
				return nil, bad
			}
			if !more {
				break
			}
			if i == maxAggregated {
				return nil, fmt.Errorf("%w: more than %d status lists", ErrMalformed, maxAggregated)
			}
			s, err := d.String()
			if err != nil {
				return nil, fmt.Errorf("%w: status_lists holds a non-string", ErrMalformed)
			}
			if u, err := url.Parse(s); err != nil || u.Scheme == "" {
				return nil, fmt.Errorf("%w: status_lists[%d] is not an absolute URI", ErrMalformed, i)
			}
			a.StatusLists = append(a.StatusLists, strings.Clone(s))
		}
	}
	if d.End() != nil {
		return nil, bad
	}
	if a == nil {
		return nil, fmt.Errorf("%w: no status_lists", ErrMalformed)
	}
	return a, nil
}
