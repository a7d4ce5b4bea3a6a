package server

import (
	"io"
	"strconv"
	"sync"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// The request line of a successful request, encoded without zerolog.
//
// At tens of thousands of tokens a second the request line is a
// measurable part of a token's cost: zerolog spends about 0.5 µs on it
// (an event from a pool, a key and a value check per field, a hook), a
// tenth of the token endpoint's own work. A successful request's line has
// a fixed shape, and every value in it but three comes from a fixed set,
// so HandlerOptions.RequestLines lets the handler write it itself, in a
// third of the time. The line is the one zerolog would write, byte for
// byte (TestRequestLineMatchesZerolog and its fuzz target hold the two
// encoders to that): operators and their parsers see no difference.
//
// Only lines that need no escaping take this path: a client id, audience
// or jti holding anything but printable ASCII other than a quote or a
// backslash, a failed request (its error and cause), and any level but
// info go through zerolog as before.

// requestFields are the values of one request line.
type requestFields struct {
	route, method string
	status        int
	remote        []byte // the client's address, ASCII
	latencyMicros int64
	outcome       string
	grant         string // "none": no grant_type field
	res           *endpoint.Result
}

// clientID is the client id the line names: the authenticated client's,
// or, after a failed authentication, the one the request presented.
func (f *requestFields) clientID() string {
	if f.res == nil {
		return ""
	}
	if f.res.ClientID != "" {
		return f.res.ClientID
	}
	return f.res.PresentedClientID
}

// addTo appends the fields to a zerolog event, in the order of the line.
func (f *requestFields) addTo(ev *zerolog.Event) *zerolog.Event {
	ev.Str("endpoint", f.route).
		Str("method", f.method).
		Int("status", f.status).
		Bytes("remote", f.remote).
		Int64("latency_us", f.latencyMicros).
		Str("outcome", f.outcome)
	res := f.res
	if res == nil {
		return ev
	}
	if id := f.clientID(); id != "" {
		ev.Str("client_id", id)
	}
	if f.grant != "none" {
		ev.Str("grant_type", f.grant)
	}
	if res.Audience != "" {
		ev.Str("audience", res.Audience)
	}
	if res.JTI != "" {
		ev.Str("jti", res.JTI)
	}
	if res.Err != nil {
		ev.Str("error", string(res.Err.Code))
		if res.Err.Cause != nil {
			ev.Str("cause", res.Err.Cause.Error())
		}
	}
	return ev
}

// plainASCII reports whether s is printable ASCII without a quote or a
// backslash: a JSON string that needs no escaping, and that zerolog too
// writes as it is. Eight bytes are checked at a time.
func plainASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		del := w ^ (jsonenc.LSB * 0x7f)
		if w&jsonenc.MSB != 0 || jsonenc.SpecialMask(w) != 0 || (del-jsonenc.LSB)&^del&jsonenc.MSB != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendRequestLine appends the info-level line of f, with the time field
// stamp, as zerolog with the Timestamp hook writes it, and reports true;
// or appends nothing and reports false when the line is not one it
// encodes (a failed request, or a value that would need escaping).
func appendRequestLine(b []byte, f *requestFields, stamp string) ([]byte, bool) {
	if f.res != nil && f.res.Err != nil {
		return b, false
	}
	id := f.clientID()
	var aud, jti string
	if f.res != nil {
		aud, jti = f.res.Audience, f.res.JTI
	}
	// The route, method, outcome and grant come from fixed sets of plain
	// names, and the address from netip.Addr.AppendTo; the rest is
	// checked.
	if !plainASCII(id) || !plainASCII(aud) || !plainASCII(jti) || !plainASCII(stamp) {
		return b, false
	}
	b = append(b, `{"level":"info","endpoint":"`...)
	b = append(b, f.route...)
	b = append(b, `","method":"`...)
	b = append(b, f.method...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(f.status), 10)
	b = append(b, `,"remote":"`...)
	b = append(b, f.remote...)
	b = append(b, `","latency_us":`...)
	b = strconv.AppendInt(b, f.latencyMicros, 10)
	b = append(b, `,"outcome":"`...)
	b = append(b, f.outcome...)
	b = append(b, '"')
	if f.res != nil {
		if id != "" {
			b = append(append(append(b, `,"client_id":"`...), id...), '"')
		}
		if f.grant != "none" {
			b = append(append(append(b, `,"grant_type":"`...), f.grant...), '"')
		}
		if aud != "" {
			b = append(append(append(b, `,"audience":"`...), aud...), '"')
		}
		if jti != "" {
			b = append(append(append(b, `,"jti":"`...), jti...), '"')
		}
	}
	b = append(b, `,"time":"`...)
	b = append(b, stamp...)
	b = append(b, `","message":"request"}`+"\n"...)
	return b, true
}

// zerologDefaults reports whether zerolog's field names and level text are
// its defaults, which appendRequestLine writes; a program that changed
// them gets zerolog's encoding for every line.
func zerologDefaults() bool {
	return zerolog.LevelFieldName == "level" && zerolog.TimestampFieldName == "time" &&
		zerolog.MessageFieldName == "message" && zerolog.LevelFieldMarshalFunc(zerolog.InfoLevel) == "info"
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeRequestLine writes f's line to w and reports true, or writes
// nothing and reports false (see appendRequestLine).
func writeRequestLine(w io.Writer, f *requestFields, stamp string) bool {
	bp := linePool.Get().(*[]byte)
	b, ok := appendRequestLine((*bp)[:0], f, stamp)
	if ok {
		_, _ = w.Write(b)
	}
	if cap(b) <= 4<<10 {
		*bp = b[:0]
		linePool.Put(bp)
	}
	return ok
}

// JSONLines returns w when NewLogger(w, level, format, terminal) writes
// JSON lines to w, and nil otherwise: the value for
// HandlerOptions.RequestLines (and Options.RequestLines) beside that
// logger.
func JSONLines(w io.Writer, format string, terminal bool) io.Writer {
	if json, err := writesJSON(format, terminal); err != nil || !json {
		return nil
	}
	return w
}
