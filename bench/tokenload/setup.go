package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/bench/internal/loadkit"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// env is the orchestrator's view of a measurement: the two server
// processes and what the generators need.
type env struct {
	self     string // this executable, re-run in each role
	dir      string
	secret   string
	bodySize int
	token    *child
	base     *child
}

// child is a server process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	info   serverInfo
	stderr bytes.Buffer
	waited chan error
}

// start creates the data directory and starts the token server and, once
// one token response has fixed the body size, the baseline.
func start(ctx context.Context, o options) (*env, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tokenload-")
	if err != nil {
		return nil, err
	}
	if o.alg == "" {
		o.alg = "A256KW"
	}
	e := &env{self: self, dir: dir}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	if e.secret, err = secret.NewClientSecret(); err != nil {
		return nil, err
	}
	// -cpuprofile profiles the token server, or the baseline with -only baseline.
	extra, baseExtra := []string{envAlg + "=" + o.alg}, []string{}
	if o.gcPercent != 0 {
		extra = append(extra, envGC+"="+strconv.Itoa(o.gcPercent))
	}
	if o.cpuprofile != "" && o.only == roleBaseline {
		baseExtra = append(baseExtra, envProfile+"="+o.cpuprofile)
	} else if o.cpuprofile != "" {
		extra = append(extra, envProfile+"="+o.cpuprofile)
	}
	if e.token, err = e.startServer(ctx, roleToken, extra...); err != nil {
		return nil, err
	}
	// One token response fixes the baseline's body size.
	tlsConf, err := clientTLS(dir)
	if err != nil {
		return nil, err
	}
	c := loadkit.Client(e.token.info.TLS, 1, tlsConf)
	req, resp := tokenRequest(e.secret, false), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	if err := c.DoTimeout(req, resp, 10*time.Second); err != nil {
		return nil, fmt.Errorf("first token request: %w", err)
	}
	if resp.StatusCode() != 200 {
		return nil, fmt.Errorf("first token request: %d %s", resp.StatusCode(), resp.Body())
	}
	if alg, err := tokenAlg(resp.Body()); err != nil || alg != o.alg {
		return nil, fmt.Errorf("first token request: the access token's alg is %q (%v), want %q", alg, err, o.alg)
	}
	e.bodySize = len(resp.Body())
	c.CloseIdleConnections()
	if e.base, err = e.startServer(ctx, roleBaseline, append(baseExtra, envBody+"="+strconv.Itoa(e.bodySize))...); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

// childEnv is the environment of a child in role.
func (e *env) childEnv(role string, extra ...string) []string {
	return append(append(os.Environ(), roleEnv+"="+role, envDir+"="+e.dir, envSecret+"="+e.secret), extra...)
}

// startServer starts a server child and reads the addresses it announces.
func (e *env) startServer(ctx context.Context, role string, extra ...string) (*child, error) {
	c := &child{cmd: exec.CommandContext(ctx, e.self), waited: make(chan error, 1)}
	c.cmd.Env = e.childEnv(role, extra...)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
		_, _ = io.Copy(io.Discard, out)
		c.waited <- c.cmd.Wait()
	}()
	select {
	case s := <-line:
		if err := json.Unmarshal([]byte(s), &c.info); err != nil || c.info.TLS == "" {
			c.stop()
			return nil, fmt.Errorf("%s server did not start: %q %s", role, s, c.stderr.String())
		}
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s server did not start in 30s: %s", role, c.stderr.String())
	}
	return c, nil
}

// stop asks the child to shut down (closing its standard input) and waits.
func (c *child) stop() {
	if c == nil {
		return
	}
	_ = c.stdin.Close()
	select {
	case <-c.waited:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.waited
	}
}

// cpu returns the child's CPU time so far (user + system, all threads),
// from /proc/PID/stat in clock ticks of 10 ms (USER_HZ 100, fixed on
// Linux).
func (c *child) cpu() (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("server CPU time needs /proc: %w", err)
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis, where field 3 (state) starts.
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// rss returns the child's resident set size from /proc/PID/status.
func (c *child) rss() int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// generate runs one load generator process against addr and returns its
// result and its own CPU time.
func (e *env) generate(ctx context.Context, addr string, useTLS bool, conns int, runFor time.Duration, tokens int, dpopAlg string) (loadResult, time.Duration, error) {
	tlsFlag := "0"
	if useTLS {
		tlsFlag = "1"
	}
	cmd := exec.CommandContext(ctx, e.self)
	cmd.Env = e.childEnv(roleLoad, envAddr+"="+addr, envTLS+"="+tlsFlag, envConns+"="+strconv.Itoa(conns),
		envRunFor+"="+runFor.String(), envTokens+"="+strconv.Itoa(tokens),
		envDPoP+"="+dpopAlg, envIssuer+"=https://"+e.token.info.TLS)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return loadResult{}, 0, fmt.Errorf("load generator: %w: %s", err, errb.String())
	}
	var res loadResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return loadResult{}, 0, fmt.Errorf("load generator output %q: %w", out.String(), err)
	}
	if res.Err != "" {
		return res, 0, errors.New(res.Err)
	}
	if res.OK == 0 {
		return res, 0, errors.New("no request answered")
	}
	return res, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

func (e *env) close() {
	e.token.stop()
	e.base.stop()
	_ = os.RemoveAll(e.dir)
}

// tokenAlg returns the "alg" of the protected header of the access token in
// a token response body.
func tokenAlg(body []byte) (string, error) {
	var r struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", err
	}
	hdr, _, _ := strings.Cut(r.AccessToken, ".")
	raw, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		return "", err
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", err
	}
	return h.Alg, nil
}
