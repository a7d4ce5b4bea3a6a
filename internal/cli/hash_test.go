package cli_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/cli"
	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// runStdin runs the command with stdin as its standard input.
func runStdin(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

// TestHash: "issuer hash" reads the secret from standard input (a pipe
// here; the terminal prompt is tested against the binary), never from
// argv, and prints a hash the configuration accepts and that verifies it.
func TestHash(t *testing.T) {
	const pw = "correct horse battery staple"
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantScheme secret.Scheme
		verifies   string
		wantStderr string
	}{
		{name: "bcrypt from a pipe, newline removed", stdin: pw + "\n", args: []string{"--cost", "10"}, wantScheme: secret.Bcrypt, verifies: pw},
		{name: "CRLF removed", stdin: pw + "\r\n", args: []string{"--cost", "10"}, wantScheme: secret.Bcrypt, verifies: pw},
		{name: "no final newline", stdin: pw, args: []string{"--cost", "10"}, wantScheme: secret.Bcrypt, verifies: pw},
		{name: "only the first line is the secret", stdin: pw + "\nsecond line\n", args: []string{"--cost", "10"}, wantScheme: secret.Bcrypt, verifies: pw},
		{name: "argon2id", stdin: pw + "\n", args: []string{"--argon2id", "--memory", "8192", "--time", "1"}, wantScheme: secret.Argon2id, verifies: pw},
		{name: "never from the command line", stdin: "", args: []string{pw}, wantCode: 2, wantStderr: "never from the command line"},
		{name: "an empty secret is refused", stdin: "\n", wantCode: 2, wantStderr: "empty secret"},
		{name: "bcrypt's 72-byte limit is an error, not a truncation", stdin: strings.Repeat("a", 73) + "\n", args: []string{"--cost", "10"}, wantCode: 2, wantStderr: "too long"},
		{name: "a cost below 10 is refused", stdin: pw, args: []string{"--cost", "4"}, wantCode: 2, wantStderr: "--cost"},
		{name: "argon2id parameters out of bounds", stdin: pw, args: []string{"--argon2id", "--memory", "1000000"}, wantCode: 2, wantStderr: "argon2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runStdin(tt.stdin, append([]string{"hash"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tt.wantCode, tt.wantStderr)
			}
			if strings.Contains(out+errOut, pw) {
				t.Fatal("the secret was printed")
			}
			if tt.wantCode != 0 {
				return
			}
			enc := strings.TrimSpace(out)
			h, err := secret.Parse(enc)
			if err != nil || h.Scheme() != tt.wantScheme || !h.Verify(tt.verifies) || h.Verify(tt.verifies+"x") {
				t.Fatalf("hash %q: %v, scheme %s", enc, err, h.Scheme())
			}
			// The configuration takes it as a password hash.
			if _, err := config.Parse([]byte(minimalConfig+`users: [{username: alice, id: u-1, password_hash: "`+enc+`"}]`+"\n"), "t.yaml"); err != nil {
				t.Fatalf("the configuration refuses the hash: %v", err)
			}
		})
	}
	if code, out, _ := run("hash", "-h"); code != 0 || !regexp.MustCompile(`never\s+taken from the command line`).MatchString(out) {
		t.Fatalf("hash -h: %d %s", code, out)
	}
}

const minimalConfig = `issuer: https://issuer.test
tls: {cert_file: c.pem, key_file: k.pem}
audiences: [{name: "https://api.test"}]
`
