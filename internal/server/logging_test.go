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
