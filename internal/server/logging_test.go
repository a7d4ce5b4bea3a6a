package server_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestRequestLogOutcomes: the request line of a failed client
// authentication names the client id presented (401 and 429 alike), a 404
// is not logged as a success, and the secret tried never reaches the log.
func TestRequestLogOutcomes(t *testing.T) {
	const wrong = "wrong-secret-guess-0123456789"
	f := newFixture(t, fixtureOpts{})
	bad := tokenReq()
	bad.header["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(slowClientID+":"+wrong))
	var statuses []int
	for i := 0; i < 30; i++ {
		s := do(f.h.ServeFastHTTP, bad).StatusCode()
		statuses = append(statuses, s)
		if s == 429 {
			break
		}
	}
	if statuses[0] != 401 || statuses[len(statuses)-1] != 429 {
		t.Fatalf("statuses %v: want 401s, then 429", statuses)
	}
	do(f.h.ServeFastHTTP, req{method: "GET", uri: "/nope"})

	lines := nonEmptyLines(f.log.String())
	byStatus := map[float64]map[string]any{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		byStatus[m["status"].(float64)] = m
	}
	tests := []struct {
		name   string
		status float64
		want   map[string]any
		absent string
	}{
		{name: "401 names the client id presented", status: 401, want: map[string]any{"client_id": slowClientID, "outcome": "invalid_client", "error": "invalid_client", "endpoint": "token"}},
		{name: "429 names the client id presented", status: 429, want: map[string]any{"client_id": slowClientID, "outcome": "rate_limited", "endpoint": "token"}},
		{name: "404 is not logged as ok", status: 404, want: map[string]any{"outcome": "not_found", "endpoint": "not_found"}, absent: "client_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := byStatus[tt.status]
			if !ok {
				t.Fatalf("no log line with status %v:\n%s", tt.status, f.log)
			}
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (line %v)", k, m[k], v, m)
				}
			}
			if _, ok := m[tt.absent]; tt.absent != "" && ok {
				t.Errorf("%s present: %v", tt.absent, m)
			}
		})
	}
	if strings.Contains(f.log.String(), wrong) {
		t.Fatal("the log contains the secret tried")
	}
}

// TestRequestLogCannotBeForged plays an attacker writing into the log
// through what a request controls: a client id made to close the
// client_id string and add fields, one carrying a line break and a whole
// forged line, and X-Forwarded-For values that are not addresses. Then the
// victim gets its token. Every request leaves exactly one line, each line
// is one JSON object with no field the attacker named, and the victim's
// line is the real one: status 200, outcome ok, its own client id and a
// jti.
func TestRequestLogCannotBeForged(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	forgeries := []string{
		testClientID + `","outcome":"ok","forged":"1`,
		testClientID + "\n" + `{"level":"info","endpoint":"token","status":200,"outcome":"ok","forged":"1"}`,
		`\",\"forged\":\"1`,
	}
	requests := 0
	for _, id := range forgeries {
		bad := tokenReq()
		bad.header["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":not-the-secret"))
		if got := do(f.h.ServeFastHTTP, bad).StatusCode(); got != 401 && got != 429 {
			t.Fatalf("forged client id %q answered %d", id, got)
		}
		requests++
	}
	for _, xff := range []string{`203.0.113.9","forged":"1`, "203.0.113.9\n{\"forged\":1}"} {
		r := tokenReq()
		r.header["X-Forwarded-For"] = xff
		do(f.h.ServeFastHTTP, r)
		requests++
	}
	victim := do(f.h.ServeFastHTTP, tokenReq())
	requests++
	if victim.StatusCode() != 200 {
		t.Fatalf("the victim got %d: %s", victim.StatusCode(), victim.Body())
	}

	lines := nonEmptyLines(f.log.String())
	if len(lines) != requests {
		t.Fatalf("%d lines for %d requests:\n%s", len(lines), requests, f.log)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %q", i, l)
		}
		if _, ok := m["forged"]; ok {
			t.Fatalf("line %d carries a forged field: %s", i, l)
		}
		if i < len(forgeries) && (m["status"] == float64(200) || m["outcome"] == "ok") {
			t.Errorf("the attacker's request %d is logged as a success: %s", i, l)
		}
		if r, _ := m["remote"].(string); strings.Contains(r, "forged") {
			t.Errorf("line %d: remote %q", i, r)
		}
	}
	var last map[string]any
	_ = json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if last["status"] != float64(200) || last["outcome"] != "ok" || last["client_id"] != testClientID || last["jti"] == nil {
		t.Errorf("the victim's line: %v", last)
	}
}
