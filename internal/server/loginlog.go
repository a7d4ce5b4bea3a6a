package server

import (
	"context"
	"strings"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/login"
)

// LoginAudit returns the login page's Audit hook (login.Config.Audit): one
// log line per sign-in, consent decision or refused form, and a count in
// m's issuer_login_events_total (m may be nil).
//
// The line carries only allow-listed fields: component "login", event (a
// login.EventKind from a fixed set), client_id (validated against the
// registered clients before the page runs), user and sub (set by the page
// only once the user is authenticated, never for a failed attempt, whose
// "username" may well be a password typed into the wrong field), scope
// (the granted scopes, a subset of the client's configured ones), remote
// (the address failures are counted against) and cause (the page's fixed
// error texts). Passwords, tickets, CSRF tokens and cookies are never in
// an Event, so they cannot reach the log.
func LoginAudit(log zerolog.Logger, m *Metrics) func(context.Context, login.Event) {
	return func(_ context.Context, e login.Event) {
		kind := loginEventLabel(e.Kind)
		if m != nil {
			m.loginEvents.WithLabelValues(kind).Inc()
		}
		var ev *zerolog.Event
		switch e.Kind {
		case login.EventLoginFailed, login.EventThrottled, login.EventFormRejected:
			ev = log.Warn()
		default:
			ev = log.Info()
		}
		if ev == nil {
			return
		}
		ev.Str("component", "login").Str("event", kind)
		if e.ClientID != "" {
			ev.Str("client_id", e.ClientID)
		}
		if e.Username != "" {
			ev.Str("user", e.Username)
		}
		if e.Subject != "" {
			ev.Str("sub", e.Subject)
		}
		if e.Kind == login.EventConsent {
			ev.Str("scope", strings.Join(e.Scopes, " "))
		}
		if e.Addr.IsValid() {
			ev.Str("remote", e.Addr.String())
		}
		if e.Err != nil {
			ev.Str("cause", e.Err.Error())
		}
		ev.Msg("login")
	}
}

// loginEvents are the labels of issuer_login_events_total.
var loginEvents = []login.EventKind{
	login.EventLogin, login.EventLoginFailed, login.EventThrottled, login.EventProxyUser,
	login.EventFormRejected, login.EventConsent, login.EventDenied,
}

// loginEventLabel maps an event kind onto the fixed label set.
func loginEventLabel(k login.EventKind) string {
	for _, known := range loginEvents {
		if k == known {
			return string(k)
		}
	}
	return "other"
}
