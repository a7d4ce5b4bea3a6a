package server

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// MetricsContentType is the media type of /metrics: the Prometheus text
// exposition format 0.0.4.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// latencyBuckets are the histogram upper bounds, in seconds, of request
// latencies: 50 µs to 2.5 s.
var latencyBuckets = [...]float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Metrics are the issuer's Prometheus metrics (SPEC §5 "/metrics"), kept
// with github.com/prometheus/client_golang:
//
//	issuer_requests_total{endpoint,grant_type,outcome}    counter
//	issuer_request_duration_seconds{endpoint}             histogram
//	issuer_token_request_duration_seconds{grant_type}     histogram (the token endpoint, by grant type)
//	issuer_tokens_issued_total{type}                      counter (access, refresh, code)
//	issuer_store_errors_total                             counter
//	issuer_panics_total                                   counter
//	issuer_key_rotations_total{ring}                      counter (rotations this process wrote)
//	issuer_key_ring_reloads_total{ring}                   counter (ring changes read from disk, written by another process)
//	issuer_config_reloads_total{result}                   counter (SIGHUP reloads: ok, failed)
//	issuer_login_events_total{event}                      counter (login page: login, login_failed, consent, ...)
//	issuer_key_ring_active_key_age_seconds{ring}          gauge
//	issuer_key_ring_last_rotation_timestamp_seconds{ring} gauge (creation time of the newest key)
//	issuer_key_ring_keys{ring,state}                      gauge
//	issuer_memory_store_entries{table}                    gauge (store: memory only; codes, refresh_families, revoked_tokens, leases, use_once, records, status_lists, status_bits)
//	issuer_memory_store_max_entries                       gauge (store: memory only; the bound on each table)
//	issuer_build_info{version,goversion}                  gauge (1)
//	go_*, process_*                                       the client library's Go and process collectors
//	go_gc_completed_cycles_total                          counter (kept from the issuer's earlier exposition)
//
// Label values come from fixed sets: endpoint is a route name, grant_type
// one of the grant types or "none" or "other", outcome is "ok", an RFC
// error code, "rate_limited", "not_found", "method_not_allowed" or "other",
// event a login.EventKind or "other". A client can therefore not create
// series at will.
//
// The request path records the request series (issuer_requests_total,
// the two latency histograms, issuer_tokens_issued_total) in stripes
// (metrics_stripe.go): an array index, an atomic load and an atomic add on
// a cache line the connection's stripe owns, with no label hashing, map
// look-up or allocation, and no contention between cores. A scrape adds
// the stripes up into client_golang constant metrics.
//
// Metrics is safe for concurrent use.
type Metrics struct {
	// Registry holds every collector; /metrics serves it.
	Registry *prometheus.Registry

	req         *requestCollector
	storeErrors prometheus.Counter
	panics      prometheus.Counter
	rotations   *prometheus.CounterVec
	ringReloads *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	loginEvents *prometheus.CounterVec
}

// The fixed label sets, in the order of the series arrays.
var (
	routeLabels = [...]string{RouteToken, RouteAuthorize, RouteIntrospect, RouteRevoke, RouteMetadata,
		RouteHealthz, RouteReadyz, RouteMetrics, RouteDemoCallback,
		RouteUserInfo, RouteEndSession, RouteOpenIDConfiguration, RouteJWKS,
		RoutePAR, RouteDeviceAuthorization, RouteDeviceVerification,
		RouteStatusList, RouteResourceKeys, RouteNotFound}

	grantLabels = [...]string{string(endpoint.GrantAuthorizationCode), string(endpoint.GrantClientCredentials),
		string(endpoint.GrantRefreshToken), string(endpoint.GrantPassword), string(endpoint.GrantImplicit),
		string(endpoint.GrantDeviceCode), string(endpoint.GrantTokenExchange), string(endpoint.GrantJWTBearer), "none", "other"}
	outcomeLabels = [...]string{"ok", "rate_limited", "not_found", "method_not_allowed", "other",
		string(endpoint.InvalidRequest), string(endpoint.InvalidClient), string(endpoint.InvalidGrant),
		string(endpoint.UnauthorizedClient), string(endpoint.UnsupportedGrantType), string(endpoint.InvalidScope),
		string(endpoint.AccessDenied), string(endpoint.UnsupportedResponseType), string(endpoint.ServerError),
		string(endpoint.TemporarilyUnavailable), string(endpoint.UnsupportedTokenType), string(endpoint.InvalidTarget),
		string(endpoint.InvalidToken), string(endpoint.InsufficientScope), string(endpoint.LoginRequired),
		string(endpoint.ConsentRequired), string(endpoint.InteractionRequired),
		string(endpoint.AuthorizationPending), string(endpoint.SlowDown), string(endpoint.ExpiredToken), string(endpoint.InvalidRequestURI)}
)

// NewMetrics registers the issuer's metrics, with the Go and process
// collectors, in a new registry. version labels issuer_build_info.
func NewMetrics(version string) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		req:      newRequestCollector(),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "issuer_store_errors_total",
			Help: "Requests and readiness checks that failed because the store was unavailable."}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{Name: "issuer_panics_total",
			Help: "Handler panics recovered and answered with 500."}),
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "issuer_key_rotations_total",
			Help: "Key ring changes (rotations, new keys, expired keys removed) written by this process, by ring."}, []string{"ring"}),
		ringReloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "issuer_key_ring_reloads_total",
			Help: "Key ring changes written by another process (a replica, issuer keys) and read by this one, by ring."}, []string{"ring"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "issuer_config_reloads_total",
			Help: "Configuration reloads (SIGHUP), by result: ok, or failed (the running configuration was kept)."}, []string{"result"}),
		loginEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "issuer_login_events_total",
			Help: "Login page events: sign-ins, failed sign-ins, throttled sign-ins, trusted-proxy users, rejected forms, consents and denials."},
			[]string{"event"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "issuer_build_info",
		Help: "Always 1: the issuer's version and the Go version it was built with."}, []string{"version", "goversion"})
	r.MustRegister(m.req, m.storeErrors, m.panics, m.rotations,
		m.ringReloads, m.reloads, m.loginEvents, buildInfo,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newFuncCollector("go_gc_completed_cycles_total", "Completed garbage collection cycles.", prometheus.CounterValue, nil,
			func(emit emitFunc) { emit(readRuntimeMetric("/gc/cycles/total:gc-cycles")) }),
	)
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	for _, k := range loginEvents {
		m.loginEvents.WithLabelValues(string(k))
	}
	for _, res := range []string{"ok", "failed"} {
		m.reloads.WithLabelValues(res)
	}
	// Pre-create the series every dashboard expects, so they read 0
	// rather than missing.
	// (issuer_tokens_issued_total's are always there.)
	loadOrNew(&m.req.latency[tokenRoute])
	return m
}

// count adds one to issuer_requests_total{route, grant, outcome}; the
// indexes are those of routeLabels, grantLabels and outcomeLabels, stripe
// that of the request's connection (stripeOf).
func (m *Metrics) count(stripe uint, route, grant, outcome int) {
	m.req.count(stripe, route, grant, outcome)
}

// observe records one request's latency: by endpoint, and for the token
// endpoint also by grant type.
func (m *Metrics) observe(stripe uint, route, grant int, d time.Duration) {
	m.req.observe(stripe, route, grant, d)
}

// issued counts a token issued: kind is issuedAccess, issuedRefresh or
// issuedCode.
func (m *Metrics) issued(stripe uint, kind int) { m.req.issued[kind].inc(stripe) }

// AppendText appends the exposition of every metric, in the text format
// of MetricsContentType, to dst.
func (m *Metrics) AppendText(dst []byte) ([]byte, error) {
	mfs, err := m.Registry.Gather()
	buf := bytes.NewBuffer(dst)
	enc := expfmt.NewEncoder(buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil && err == nil {
			err = eerr
		}
	}
	return buf.Bytes(), err
}

// WatchKeys registers the key ring gauges, read from list at scrape time.
func (m *Metrics) WatchKeys(list func() []*keys.Set, now func() time.Time) {
	m.Registry.MustRegister(
		newFuncCollector("issuer_key_ring_active_key_age_seconds", "Seconds since the ring's active key started sealing.", prometheus.GaugeValue, []string{"ring"}, func(emit emitFunc) {
			t := now()
			for _, s := range list() {
				if k, err := s.Sealing(t); err == nil {
					emit(t.Sub(k.Activates).Seconds(), s.Name())
				}
			}
		}),
		newFuncCollector("issuer_key_ring_last_rotation_timestamp_seconds", "Creation time of the ring's newest key, in seconds since the Unix epoch.", prometheus.GaugeValue, []string{"ring"}, func(emit emitFunc) {
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
		}),
		newFuncCollector("issuer_key_ring_keys", "Keys in the ring, by lifecycle state.", prometheus.GaugeValue, []string{"ring", "state"}, func(emit emitFunc) {
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
		}),
	)
}

// WatchMemoryStore registers the memory store's gauges, read from s at
// scrape time: the entries of each table (expired ones not yet swept
// included; for status_bits, the set bits) and the bound on each,
// limits.memory_store_entries. A write that needs room in a table at its
// bound is answered 503, so alert well before a table's entries reach it.
func (m *Metrics) WatchMemoryStore(s *memory.Store) {
	m.Registry.MustRegister(
		newFuncCollector("issuer_memory_store_entries", "Entries in each table of the memory store, expired ones not yet swept included.", prometheus.GaugeValue, []string{"table"}, func(emit emitFunc) {
			n := s.Len()
			emit(float64(n.Codes), "codes")
			emit(float64(n.Families), "refresh_families")
			emit(float64(n.Tokens), "revoked_tokens")
			emit(float64(n.Leases), "leases")
			emit(float64(n.UseOnce), "use_once")
			emit(float64(n.Records), "records")
			emit(float64(n.StatusLists), "status_lists")
			emit(float64(n.StatusBits), "status_bits")
		}),
		newFuncCollector("issuer_memory_store_max_entries", "The bound on each table of the memory store (limits.memory_store_entries); a write that needs room in a full table is answered 503.", prometheus.GaugeValue, nil, func(emit emitFunc) {
			emit(float64(s.MaxEntries()))
		}),
	)
}

// Rotated counts a ring change this process wrote.
func (m *Metrics) Rotated(ring string) { m.rotations.WithLabelValues(ring).Inc() }

// RingReloaded counts a ring change this process read from disk.
func (m *Metrics) RingReloaded(ring string) { m.ringReloads.WithLabelValues(ring).Inc() }

// ConfigReloaded counts a configuration reload, successful or not.
func (m *Metrics) ConfigReloaded(ok bool) {
	res := "ok"
	if !ok {
		res = "failed"
	}
	m.reloads.WithLabelValues(res).Inc()
}

// StoreError counts a failure to reach the store.
func (m *Metrics) StoreError() { m.storeErrors.Inc() }

// emitFunc reports one sample of a funcCollector: its value and its label
// values in the order of the collector's label names.
type emitFunc func(value float64, labelValues ...string)

// funcCollector is a gauge or counter family whose samples are read at
// scrape time from state kept elsewhere (key rings, the memory store).
type funcCollector struct {
	desc    *prometheus.Desc
	typ     prometheus.ValueType
	nlabels int
	collect func(emit emitFunc)
}

func newFuncCollector(name, help string, typ prometheus.ValueType, labels []string, collect func(emitFunc)) *funcCollector {
	return &funcCollector{desc: prometheus.NewDesc(name, help, labels, nil), typ: typ, nlabels: len(labels), collect: collect}
}

func (f *funcCollector) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f *funcCollector) Collect(ch chan<- prometheus.Metric) {
	f.collect(func(v float64, values ...string) {
		if len(values) != f.nlabels {
			panic(fmt.Sprintf("server: metric %s takes %d label values, got %d", f.desc, f.nlabels, len(values)))
		}
		ch <- prometheus.MustNewConstMetric(f.desc, f.typ, v, values...)
	})
}

// readRuntimeMetric reads one runtime/metrics value; 0 if unsupported.
func readRuntimeMetric(name string) float64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	switch s[0].Value.Kind() {
	case metrics.KindUint64:
		return float64(s[0].Value.Uint64())
	case metrics.KindFloat64:
		return s[0].Value.Float64()
	}
	return 0
}

// routeIndex, grantIndex and outcomeIndex map label values onto the
// indexes of routeLabels, grantLabels and outcomeLabels.
func routeIndex(route string) int {
	for i, r := range routeLabels {
		if r == route {
			return i
		}
	}
	return len(routeLabels) - 1 // not_found
}

// grantIndex maps a grant type onto grantLabels: a known grant type, "none"
// or "other".
func grantIndex(g endpoint.GrantType) int {
	switch g {
	case endpoint.GrantAuthorizationCode:
		return 0
	case endpoint.GrantClientCredentials:
		return 1
	case endpoint.GrantRefreshToken:
		return 2
	case endpoint.GrantPassword:
		return 3
	case endpoint.GrantImplicit:
		return 4
	case endpoint.GrantDeviceCode:
		return 5
	case endpoint.GrantTokenExchange:
		return 6
	case endpoint.GrantJWTBearer:
		return 7
	case "":
		return 8
	}
	return 9
}

// outcomeIndex maps an endpoint error and the response status onto
// outcomeLabels. Requests that no OAuth endpoint answered (e == nil) are
// "ok" only below 400: a 404 is "not_found", a 405 "method_not_allowed",
// a 503 (readiness) "temporarily_unavailable", a 500 "server_error".
func outcomeIndex(e *endpoint.Error, status int) int {
	if e == nil {
		switch {
		case status < 400:
			return 0
		case status == 404:
			return 2
		case status == 405:
			return 3
		case status == 503:
			return outcomeOf(string(endpoint.TemporarilyUnavailable))
		case status >= 500:
			return outcomeOf(string(endpoint.ServerError))
		}
		return 4
	}
	if status == 429 {
		return 1
	}
	if i := outcomeOf(string(e.Code)); i >= 5 {
		return i
	}
	return 4 // other
}

func outcomeOf(code string) int {
	for i, o := range outcomeLabels {
		if o == code {
			return i
		}
	}
	return 4
}

// MetricsHandler serves m's exposition at GET and HEAD /metrics, and 404
// elsewhere: the handler of metrics.listen, the address of its own that
// takes /metrics off the main listener. Its requests are counted as the
// endpoint "metrics".
func MetricsHandler(m *Metrics, log zerolog.Logger) fasthttp.RequestHandler {
	ri, gi := routeIndex(RouteMetrics), grantIndex("")
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		switch {
		case string(ctx.Path()) != PathMetrics:
			writeJSON(ctx, 404, `{"error":"not_found","error_description":"no such endpoint; metrics are at /metrics"}`)
		case !ctx.IsGet() && !ctx.IsHead():
			ctx.Response.Header.Set("Allow", "GET, HEAD")
			writeJSON(ctx, 405, `{"error":"invalid_request","error_description":"method not allowed; see the Allow header"}`)
		default:
			text, err := m.AppendText(make([]byte, 0, 32<<10))
			if err != nil {
				log.Warn().Str("endpoint", RouteMetrics).Str("cause", err.Error()).Msg("metrics gathered with errors")
			}
			ctx.SetStatusCode(200)
			ctx.SetContentType(MetricsContentType)
			ctx.Response.Header.Set("Cache-Control", "no-store")
			ctx.SetBody(text)
		}
		stripe := stripeOf(ctx.ConnID())
		m.count(stripe, ri, gi, outcomeIndex(nil, ctx.Response.StatusCode()))
		m.observe(stripe, ri, gi, time.Since(start))
	}
}
