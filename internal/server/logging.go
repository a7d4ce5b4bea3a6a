package server

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// NewLogger returns the server's logger writing to w: JSON lines, or
// zerolog's human console format when format is "console", or "auto" and
// terminal is true. level is trace, debug, info, warn or error.
func NewLogger(w io.Writer, level, format string, terminal bool) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("server: unknown log level %q", level)
	}
	json, err := writesJSON(format, terminal)
	if err != nil {
		return zerolog.Nop(), err
	}
	if !json {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	}
	return zerolog.New(w).Level(lvl).Hook(Timestamp), nil
}

// writesJSON reports whether NewLogger of format writes JSON lines (true)
// or zerolog's console format (false).
func writesJSON(format string, terminal bool) (bool, error) {
	switch format {
	case "json":
		return true, nil
	case "console":
		return false, nil
	case "auto", "":
		return !terminal, nil
	}
	return false, fmt.Errorf("server: unknown log format %q", format)
}

// Timestamp is a zerolog hook adding the "time" field as zerolog's own
// Timestamp does (RFC 3339, whole seconds, local time zone: zerolog's
// default time format) but formatting it once per second instead of once
// per line: at tens of thousands of request lines a second, formatting the
// time was about a fifth of the cost of a line. The server's loggers use it.
var Timestamp zerolog.Hook = timestampHook{}

type timestampHook struct{}

type stamp struct {
	sec  int64
	text string
}

var lastStamp atomic.Pointer[stamp]

func (timestampHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, formatStamp(time.Now()))
}

// formatStamp returns t in RFC 3339 at second precision, from a cache of
// the last second formatted.
func formatStamp(t time.Time) string {
	sec := t.Unix()
	if st := lastStamp.Load(); st != nil && st.sec == sec {
		return st.text
	}
	st := &stamp{sec: sec, text: t.Format(time.RFC3339)}
	lastStamp.Store(st)
	return st.text
}

// LogWriter buffers log lines and writes them to an underlying writer in
// batches: when its buffer passes 32 KiB, every flush interval, and on
// Flush and Close. A busy server then makes one write system call per batch
// instead of one per request. The request whose line fills the buffer
// writes the batch; the others wait only for the lock, not for that system
// call: a full buffer is swapped for a spare one under the lock and
// written outside it. Lines are never split or reordered; a crash loses at
// most one interval of lines.
//
// A LogWriter is safe for concurrent use.
type LogWriter struct {
	mu    sync.Mutex // guards buf and spare
	buf   []byte
	spare []byte
	wmu   sync.Mutex // serializes writes to w, taken while holding mu so batches keep their order
	w     io.Writer
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

const logBufferSize = 32 << 10

// NewLogWriter returns a LogWriter over w flushing every interval.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{w: w, buf: make([]byte, 0, 2*logBufferSize), spare: make([]byte, 0, 2*logBufferSize),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop(interval)
	return l
}

// Write buffers p, which zerolog hands over as one whole line.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	if len(l.buf) < logBufferSize {
		l.mu.Unlock()
		return len(p), nil
	}
	l.swapAndWrite()
	return len(p), nil
}

// Flush writes the buffered lines.
func (l *LogWriter) Flush() {
	l.mu.Lock()
	if len(l.buf) == 0 {
		l.mu.Unlock()
		return
	}
	l.swapAndWrite()
}

// swapAndWrite is called with mu held and releases it: it takes the full
// buffer, puts the spare in its place, and writes the full one with only
// wmu held.
func (l *LogWriter) swapAndWrite() {
	out := l.buf
	if l.spare != nil {
		l.buf, l.spare = l.spare[:0], nil
	} else {
		l.buf = make([]byte, 0, 2*logBufferSize)
	}
	l.wmu.Lock()
	l.mu.Unlock()
	_, _ = l.w.Write(out)
	l.wmu.Unlock()
	l.mu.Lock()
	if l.spare == nil && cap(out) <= 4*logBufferSize {
		l.spare = out[:0]
	}
	l.mu.Unlock()
}

func (l *LogWriter) loop(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Close stops the flush loop and writes what is buffered. Call it last:
// lines written after Close stay in the buffer.
func (l *LogWriter) Close() error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.Flush()
	})
	return nil
}

// RouteRedisLogs makes go-redis write its own messages (a connection
// pool that cannot dial during an outage, say) into log as JSON lines,
// component "redis", level warn, instead of plain text on standard error,
// with every occurrence of the scrub strings (the store password)
// replaced by "xxxxx". go-redis has one logger per process
// (redis.SetLogger), so this affects every Redis client of the process;
// the binary calls it once, at start.
func RouteRedisLogs(log zerolog.Logger, scrub ...string) {
	goredis.SetLogger(&redisLogger{log: log, scrub: slices.DeleteFunc(slices.Clone(scrub), func(s string) bool { return s == "" })})
}

type redisLogger struct {
	log   zerolog.Logger
	scrub []string
}

// Printf implements go-redis's internal.Logging.
func (l *redisLogger) Printf(_ context.Context, format string, v ...any) {
	msg := strings.TrimSpace(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
	for _, s := range l.scrub {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	l.log.Warn().Str("component", "redis").Msg(msg)
}
