package cli

import (
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// FuzzPeekHeader feeds arbitrary input to the header peek of "token
// inspect": it never panics, and it accepts only input whose first
// segment is base64url of a JSON object, choosing a valid token type.
func FuzzPeekHeader(f *testing.F) {
	f.Add("eyJhbGciOiJBMjU2S1ciLCJlbmMiOiJBMjU2R0NNIiwidHlwIjoiYXQrand0In0.a.b.c.d")
	f.Add("eyJ0eXAiOiJjb2RlK2p3dCJ9..")
	f.Add("e30.x")
	f.Add("not a token")
	f.Add(".....")
	f.Fuzz(func(t *testing.T, token string) {
		hdr, typ, err := peekHeader(token)
		if err != nil {
			if hdr != nil || !strings.Contains(err.Error(), "crypttoken: malformed token") {
				t.Fatalf("error %v with header %v", err, hdr)
			}
			return
		}
		if hdr == nil || !typ.Valid() {
			t.Fatalf("accepted %q with header %v type %q", token, hdr, typ)
		}
		if s, ok := hdr["typ"].(string); ok && crypttoken.Type(s).Valid() && typ != crypttoken.Type(s) {
			t.Fatalf("type %q chosen for header typ %q", typ, s)
		}
	})
}
