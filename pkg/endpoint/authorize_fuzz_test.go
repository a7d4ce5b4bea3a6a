package endpoint_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// FuzzAuthorize feeds raw query strings (and the same bytes as a POST form
// body) to the authorization endpoint. Whatever the input: no panic, the
// status is 302 or 400, a redirect goes only to a registered redirect URI
// (RFC 6749 §3.1.2.4), with its parameters after "?", "&" or "#", and an
// error page reflects no markup.
//
// Seeds: testdata/fuzz/FuzzAuthorize/ and the f.Add calls below.
func FuzzAuthorize(f *testing.F) {
	for _, seed := range []string{
		"",
		"response_type=code&client_id=webapp&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&state=xyz",
		"response_type=code&client_id=spa&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"response_type=token&client_id=js&scope=read+write&resource=https%3A%2F%2Fother.example.com",
		"response_type=token+code&client_id=both",
		"response_type=code&client_id=webapp&client_id=webapp",
		"response_type=code&client_id=single&redirect_uri=https%3A%2F%2Fsingle.example.com%2Fcb%3Fkeep%3D1&scope=%zz",
		"client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example.com%2F",
		"%3Cscript%3E=1&%3Cscript%3E=2",
		"response_type=code&client_id=webapp&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Ftenant%3Dacme%26x%3Da%2520b&state=%00%FF",
	} {
		f.Add(seed)
	}
	fx := newAZ(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, r := range []*endpoint.Request{azGet(raw), azPost("/authorize", raw)} {
			resp, res := fx.srv.HandleAuthorize(context.Background(), r, azApprove)
			if resp == nil {
				t.Fatal("nil response")
			}
			loc, hasLoc := azHeader(resp, "Location")
			switch resp.Status {
			case 302:
				if !hasLoc {
					t.Fatal("302 without Location")
				}
				ok := false
				for _, u := range azRedirectURIs {
					if strings.HasPrefix(loc, u) && len(loc) > len(u) && strings.ContainsRune("?&#", rune(loc[len(u)])) {
						ok = true
					}
				}
				if !ok {
					t.Fatalf("redirected to %q, which is not a registered URI", loc)
				}
			case 400:
				if hasLoc {
					t.Fatalf("error page with Location %q", loc)
				}
				if res.Err == nil {
					t.Fatal("error page without Result.Err")
				}
				if strings.Contains(strings.ToLower(string(resp.Body)), "<script") {
					t.Fatalf("page reflects markup: %q", resp.Body)
				}
			default:
				t.Fatalf("status %d (Err %v)", resp.Status, res.Err)
			}
		}
	})
}
