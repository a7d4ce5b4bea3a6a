package server

import (
	"time"

	"github.com/sealedtoken/issuer/internal/metrics"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// Metrics are the issuer's Prometheus metrics (SPEC §5 "/metrics"):
//
//	issuer_requests_total{endpoint,grant_type,outcome}    counter
//	issuer_request_duration_seconds{endpoint}             histogram
//	issuer_tokens_issued_total{type}                      counter (access, refresh, code)
//	issuer_store_errors_total                             counter
//	issuer_panics_total                                   counter
//	issuer_key_rotations_total{ring}                      counter (rotations this process wrote)
//	issuer_login_events_total{event}                      counter (login page: login, login_failed, consent, ...)
//	issuer_key_ring_active_key_age_seconds{ring}          gauge
//	issuer_key_ring_last_rotation_timestamp_seconds{ring} gauge (creation time of the newest key)
//	issuer_key_ring_keys{ring,state}                      gauge
//	issuer_memory_store_entries{table}                    gauge (store: memory only; codes, refresh_families, revoked_tokens, leases)
//	issuer_memory_store_max_entries                       gauge (store: memory only; the bound on each table)
//	go_goroutines, go_memstats_heap_alloc_bytes, ...      runtime basics
//
// Label values come from fixed sets: grant_type is one of the grant types
// or "none" or "other", outcome is "ok", an RFC error code, "rate_limited"
// or "other", event is a login.EventKind or "other". A client can therefore
// not create series at will.
type Metrics struct {
	Registry *metrics.Registry

	requests    *metrics.CounterVec
	latency     *metrics.HistogramVec
	issued      *metrics.CounterVec
	storeErrors *metrics.Counter
	panics      *metrics.Counter
	rotations   *metrics.CounterVec
	loginEvents *metrics.CounterVec

	// Series resolved once for the hot path.
	issuedAccess, issuedRefresh, issuedCode *metrics.Counter
	tokenLatency                            *metrics.Histogram
}

// NewMetrics registers the issuer's metrics in a new registry; start is
// the process start time.
func NewMetrics(start time.Time) *Metrics {
	r := metrics.NewRegistry()
	m := &Metrics{
		Registry:    r,
		requests:    r.CounterVec("issuer_requests_total", "HTTP requests handled, by endpoint, grant type and outcome (ok or the OAuth error code).", "endpoint", "grant_type", "outcome"),
		latency:     r.HistogramVec("issuer_request_duration_seconds", "Time to handle a request, from routing to the response being ready.", metrics.DefaultLatencyBuckets, "endpoint"),
		issued:      r.CounterVec("issuer_tokens_issued_total", "Tokens issued, by type (access, refresh, code).", "type"),
		storeErrors: r.Counter("issuer_store_errors_total", "Requests and readiness checks that failed because the store was unavailable."),
		panics:      r.Counter("issuer_panics_total", "Handler panics recovered and answered with 500."),
		rotations:   r.CounterVec("issuer_key_rotations_total", "Key ring changes (rotations, new keys, expired keys removed) written by this process, by ring.", "ring"),
		loginEvents: r.CounterVec("issuer_login_events_total", "Login page events: sign-ins, failed sign-ins, throttled sign-ins, trusted-proxy users, rejected forms, consents and denials.", "event"),
	}
	for _, k := range loginEvents {
		m.loginEvents.With(string(k))
	}
	// Pre-create the series every dashboard expects, so they read 0
	// rather than missing.
	m.issuedAccess, m.issuedRefresh, m.issuedCode = m.issued.With("access"), m.issued.With("refresh"), m.issued.With("code")
	m.tokenLatency = m.latency.With(RouteToken)
	metrics.RegisterRuntime(r, start)
	return m
}

// WatchKeys registers the key ring gauges, read from list at scrape time.
func (m *Metrics) WatchKeys(list func() []*keys.Set, now func() time.Time) {
	m.Registry.GaugeFunc("issuer_key_ring_active_key_age_seconds", "Seconds since the ring's active key started sealing.", []string{"ring"}, func(emit metrics.Emit) {
		t := now()
		for _, s := range list() {
			if k, err := s.Sealing(t); err == nil {
				emit(t.Sub(k.Activates).Seconds(), s.Name())
			}
		}
	})
	m.Registry.GaugeFunc("issuer_key_ring_last_rotation_timestamp_seconds", "Creation time of the ring's newest key, in seconds since the Unix epoch.", []string{"ring"}, func(emit metrics.Emit) {
		for _, s := range list() {
			var newest time.Time
			for _, k := range s.Keys() {
				if k.Created.After(newest) {
					newest = k.Created
				}
			}
			if !newest.IsZero() {
				emit(float64(newest.Unix()), s.Name())
			}
		}
	})
	m.Registry.GaugeFunc("issuer_key_ring_keys", "Keys in the ring, by lifecycle state.", []string{"ring", "state"}, func(emit metrics.Emit) {
		t := now()
		for _, s := range list() {
			var n [4]int
			for _, k := range s.Keys() {
				if st := k.State(t); int(st) < len(n) {
					n[st]++
				}
			}
			for st, c := range n {
				emit(float64(c), s.Name(), keys.State(st).String())
			}
		}
	})
}

// WatchMemoryStore registers the memory store's gauges, read from s at
// scrape time: the entries of each table (expired ones not yet swept
// included; for status_bits, the set bits) and the bound on each, limits.memory_store_entries. A write
// that needs room in a table at its bound is answered 503, so alert well
// before a table's entries reach it.
func (m *Metrics) WatchMemoryStore(s *memory.Store) {
	m.Registry.GaugeFunc("issuer_memory_store_entries", "Entries in each table of the memory store, expired ones not yet swept included.", []string{"table"}, func(emit metrics.Emit) {
		n := s.Len()
		emit(float64(n.Codes), "codes")
		emit(float64(n.Families), "refresh_families")
		emit(float64(n.Tokens), "revoked_tokens")
		emit(float64(n.Leases), "leases")
		emit(float64(n.UseOnce), "use_once")
		emit(float64(n.Records), "records")
		emit(float64(n.StatusLists), "status_lists")
		emit(float64(n.StatusBits), "status_bits")
	})
	m.Registry.GaugeFunc("issuer_memory_store_max_entries", "The bound on each table of the memory store (limits.memory_store_entries); a write that needs room in a full table is answered 503.", nil, func(emit metrics.Emit) {
		emit(float64(s.MaxEntries()))
	})
}

// Rotated counts a ring change this process wrote.
func (m *Metrics) Rotated(ring string) { m.rotations.With(ring).Inc() }

// StoreError counts a failure to reach the store.
func (m *Metrics) StoreError() { m.storeErrors.Inc() }

// grantLabel maps a grant type onto the fixed label set.
func grantLabel(g endpoint.GrantType) string {
	switch g {
	case endpoint.GrantAuthorizationCode, endpoint.GrantClientCredentials, endpoint.GrantRefreshToken,
		endpoint.GrantPassword, endpoint.GrantImplicit:
		return string(g)
	case "":
		return "none"
	}
	return "other"
}

// outcomeLabel maps an endpoint error onto the fixed label set.
func outcomeLabel(e *endpoint.Error, status int) string {
	if e == nil {
		return "ok"
	}
	if status == 429 {
		return "rate_limited"
	}
	switch e.Code {
	case endpoint.InvalidRequest, endpoint.InvalidClient, endpoint.InvalidGrant, endpoint.UnauthorizedClient,
		endpoint.UnsupportedGrantType, endpoint.InvalidScope, endpoint.AccessDenied,
		endpoint.UnsupportedResponseType, endpoint.ServerError, endpoint.TemporarilyUnavailable,
		endpoint.UnsupportedTokenType, endpoint.InvalidTarget:
		return string(e.Code)
	}
	return "other"
}
