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
	work     *child                // -calibrate: the bare handler with busy work
	gens     map[genKey]*generator // -persistent: the generators kept between runs
}

// genKey names a persistent generator: its target and its DPoP algorithm.
type genKey struct {
	addr, dpop string
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
	if o.logLevel != "" {
		extra = append(extra, envLog+"="+o.logLevel)
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
	if o.calibrate > 0 {
		if e.work, err = e.startServer(ctx, roleBaseline, envBody+"="+strconv.Itoa(e.bodySize), envWork+"="+o.calibrate.String()); err != nil {
			return nil, err
		}
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

// cpu returns the child's CPU time so far (user + system, all threads).
func (c *child) cpu() (time.Duration, error) { return procCPU(c.cmd.Process.Pid) }

// procCPU returns a process's CPU time so far (user + system, all
// threads), from /proc/PID/stat in clock ticks of 10 ms (USER_HZ 100,
// fixed on Linux).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("CPU time needs /proc: %w", err)
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
	cmd := exec.CommandContext(ctx, e.self)
	cmd.Env = e.generatorEnv(addr, useTLS, conns, runFor, tokens, dpopAlg)
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

// generatorEnv is the environment of a generator child.
func (e *env) generatorEnv(addr string, useTLS bool, conns int, runFor time.Duration, tokens int, dpopAlg string, extra ...string) []string {
	tlsFlag := "0"
	if useTLS {
		tlsFlag = "1"
	}
	return e.childEnv(roleLoad, append([]string{envAddr + "=" + addr, envTLS + "=" + tlsFlag, envConns + "=" + strconv.Itoa(conns),
		envRunFor + "=" + runFor.String(), envTokens + "=" + strconv.Itoa(tokens),
		envDPoP + "=" + dpopAlg, envIssuer + "=https://" + e.token.info.TLS}, extra...)...)
}

// generator is a load generator process kept between runs (-persistent):
// its connections stay open, and each run is a burst it is told to make,
// so that runs against the two servers can alternate every second or so
// without a process start, a warm-up and new TLS handshakes in between.
type generator struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
}

// persistentGenerator returns the kept generator for addr, starting it and
// warming it up for warmup on first use.
func (e *env) persistentGenerator(ctx context.Context, addr string, useTLS bool, conns int, dpopAlg string, warmup time.Duration) (*generator, error) {
	k := genKey{addr, dpopAlg}
	if g := e.gens[k]; g != nil {
		return g, nil
	}
	g := &generator{cmd: exec.CommandContext(ctx, e.self)}
	g.cmd.Env = e.generatorEnv(addr, useTLS, conns, time.Second, 0, dpopAlg, envBursts+"=1")
	g.cmd.Stderr = &g.stderr
	var err error
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := g.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	g.out = bufio.NewReader(out)
	if err := g.cmd.Start(); err != nil {
		return nil, err
	}
	if e.gens == nil {
		e.gens = map[genKey]*generator{}
	}
	e.gens[k] = g
	if warmup > 0 {
		if _, _, err := g.burst(warmup); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	return g, nil
}

// burst runs the generator for d and returns its result and the CPU time
// it spent meanwhile.
func (g *generator) burst(d time.Duration) (loadResult, time.Duration, error) {
	c0, err := procCPU(g.cmd.Process.Pid)
	if err != nil {
		return loadResult{}, 0, err
	}
	if _, err := fmt.Fprintln(g.stdin, d.String()); err != nil {
		return loadResult{}, 0, fmt.Errorf("load generator: %w: %s", err, g.stderr.String())
	}
	line, err := g.out.ReadString('\n')
	if err != nil {
		return loadResult{}, 0, fmt.Errorf("load generator: %w: %s", err, g.stderr.String())
	}
	c1, err := procCPU(g.cmd.Process.Pid)
	if err != nil {
		return loadResult{}, 0, err
	}
	var res loadResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return loadResult{}, 0, fmt.Errorf("load generator output %q: %w", line, err)
	}
	if res.Err != "" {
		return res, 0, errors.New(res.Err)
	}
	if res.OK == 0 {
		return res, 0, errors.New("no request answered")
	}
	return res, c1 - c0, nil
}

// stop ends the generator (closing its standard input) and waits for it.
func (g *generator) stop() {
	_ = g.stdin.Close()
	done := make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
}

func (e *env) close() {
	for _, g := range e.gens {
		g.stop()
	}
	e.token.stop()
	e.base.stop()
	e.work.stop()
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
