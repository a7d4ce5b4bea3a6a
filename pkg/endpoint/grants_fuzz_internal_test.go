package endpoint

import (
	"encoding/json"
	"testing"
)

// FuzzGrantRecords: the decoders of what the store keeps for pushed
// requests and device codes (the store is shared, so its records are
// parsed like any input) never panic, and what they accept is complete.
func FuzzGrantRecords(f *testing.F) {
	for _, s := range []string{
		`{"c":"parapp","e":1772366460000000000,"p":"client_id=parapp&response_type=code"}`,
		`{"j":"jti-1","c":"tv","s":"read","a":"https://api.example.com","e":1772367000}`,
		`{"c":"","e":-1}`, `[]`, `null`, `{"e":1e400}`, `{"c":"x","c":"y","e":1,"p":"q"}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if rec, err := decodePushed(b); err == nil && (rec.Client == "" || rec.Expiry <= 0 || rec.Params == "") {
			t.Fatalf("incomplete pushed record accepted: %+v", rec)
		}
		if rec, err := decodeDeviceRecord(b); err == nil && (rec.JTI == "" || rec.Client == "" || rec.Expiry <= 0) {
			t.Fatalf("incomplete device record accepted: %+v", rec)
		}
	})
}

// FuzzMayAct: a may_act claim (RFC 8693 §4.4) of any shape is decided
// without a panic, and it names the actor only if every member matches.
func FuzzMayAct(f *testing.F) {
	for _, s := range []string{`{"sub":"svc"}`, `{"sub":"svc","iss":"https://issuer.example.com"}`,
		`{"sub":"svc","email":"x"}`, `{}`, `[]`, `"svc"`, `{"sub":1}`, `{"sub":"svc","sub":"other"}`} {
		f.Add([]byte(s))
	}
	s := &Server{issuer: "https://issuer.example.com"}
	c := &Client{ID: "svc"}
	f.Fuzz(func(t *testing.T, b []byte) {
		ok := s.mayAct(json.RawMessage(b), nil, c)
		if !ok {
			return
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil || len(m) == 0 {
			t.Fatalf("%q accepted", b)
		}
		for k, v := range m {
			want := map[string]string{"sub": "svc", "client_id": "svc", "iss": s.issuer}[k]
			if want == "" || v != want {
				t.Fatalf("%q accepted with %s=%q", b, k, v)
			}
		}
	})
}
