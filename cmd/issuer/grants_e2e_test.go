package main_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	deviceAuthLine = regexp.MustCompile(`(?m)^\s*(curl --cacert \S+ -d client_id=demo-cli -d scope=read https://\S+/device_authorization)\s*$`)
	devicePollLine = regexp.MustCompile(`(?m)^\s*(curl --cacert \S+ -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=demo-cli -d device_code=DEVICE_CODE https://\S+/token)\s*$`)
)

// runCurl runs a printed curl command as printed, or, without curl, the
// same request through the Go client; it returns the body.
func (d *devServer) runCurl(t *testing.T, s *secrets, command, path string, form url.Values) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("sh", "-c", command+" --silent --show-error").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", command, err, out)
		}
		return string(out)
	}
	_, _, body := d.call(t, s, "POST", path, form, nil)
	return body
}

// TestDevPrintedDeviceFlow: "issuer serve" in dev mode prints a device
// flow that works as printed (SPEC §12): the device authorization curl,
// approval on the verification page in a browser (as the demo user, with
// the printed password), and the polling curl.
func TestDevPrintedDeviceFlow(t *testing.T) {
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	s := &secrets{values: map[string]string{}}
	s.add("demo user password", d.password)
	authCurl := d.waitOutput(deviceAuthLine)[1]
	pollCurl := d.waitOutput(devicePollLine)[1]

	var dev struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		Interval                int    `json:"interval"`
	}
	body := d.runCurl(t, s, authCurl, "/device_authorization", url.Values{"client_id": {"demo-cli"}, "scope": {"read"}})
	if err := json.Unmarshal([]byte(body), &dev); err != nil || dev.DeviceCode == "" || !strings.HasPrefix(dev.VerificationURIComplete, d.issuer+"/device?user_code=") {
		t.Fatalf("device authorization: %v\n%s", err, body)
	}
	s.add("device code", dev.DeviceCode)
	poll := strings.Replace(pollCurl, "DEVICE_CODE", dev.DeviceCode, 1)
	pollForm := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {"demo-cli"}, "device_code": {dev.DeviceCode}}
	if got := d.runCurl(t, s, poll, "/token", pollForm); !strings.Contains(got, `"authorization_pending"`) {
		t.Fatalf("poll before approval: %s", got)
	}

	u := newPageUser(t, d.client.Transport.(*http.Transport).TLSClientConfig.RootCAs, nil)
	if page := u.approveDevice(t, dev.VerificationURIComplete, "alice", d.password, "allow"); !strings.Contains(page, "Device connected") {
		t.Fatalf("result page:\n%s", page)
	}
	time.Sleep(time.Duration(dev.Interval) * time.Second)
	got := d.runCurl(t, s, poll, "/token", pollForm)
	access := jsonField(t, got, "access_token")
	if access == "" || jsonField(t, got, "refresh_token") == "" {
		t.Fatalf("poll after approval: %s", got)
	}
	s.add("access token (device)", access)
	s.add("refresh token (device)", jsonField(t, got, "refresh_token"))
	if code, out, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, access); code != 0 || !strings.Contains(out, `"sub": "u-alice"`) || !strings.Contains(out, `"client_id": "demo-cli"`) {
		t.Fatalf("inspect: %d %s %s", code, out, errOut)
	}
	time.Sleep(time.Duration(dev.Interval) * time.Second)
	if again := d.runCurl(t, s, poll, "/token", pollForm); !strings.Contains(again, `"invalid_grant"`) {
		t.Fatalf("poll after success: %s", again)
	}
	d.stop()
	values := make([]string, 0, len(s.values))
	for v := range s.values {
		values = append(values, v)
	}
	assertNoLeak(t, d, values...)
}
