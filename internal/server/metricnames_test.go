package server_test

import (
	"bufio"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateFamilies = flag.Bool("update-families", false, "rewrite testdata/metric-families.golden from the current /metrics output")

// family is what dashboards and alerts depend on: a metric family's type
// and the names of its labels.
type family struct {
	typ    string
	labels []string
}

func (f family) String() string { return f.typ + " {" + strings.Join(f.labels, ",") + "}" }

// parseFamilies reads a text exposition (format 0.0.4) into its families:
// the TYPE line gives the type, the samples the label names (le and
// quantile, which the type implies, left out). It is written for this
// test, independent of the code that writes the exposition.
func parseFamilies(t *testing.T, text string) map[string]family {
	t.Helper()
	fams := map[string]family{}
	var hist []string // families whose samples carry a suffix
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			fams[name] = family{typ: typ}
			if typ == "histogram" || typ == "summary" {
				hist = append(hist, name)
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
			if line[i] == '{' {
				end := strings.LastIndex(line, "}")
				if end < i {
					t.Fatalf("malformed sample line %q", line)
				}
				labels = line[i+1 : end]
			}
		}
		if _, ok := fams[name]; !ok {
			for _, h := range hist {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if name == h+suf {
						name = h
					}
				}
			}
		}
		f, ok := fams[name]
		if !ok {
			t.Fatalf("sample %q of no declared family", line)
		}
		for _, kv := range splitLabels(labels) {
			k, _, _ := strings.Cut(kv, "=")
			if k != "le" && k != "quantile" && !slices.Contains(f.labels, k) {
				f.labels = append(f.labels, k)
				slices.Sort(f.labels)
			}
		}
		fams[name] = f
	}
	return fams
}

// splitLabels splits `a="x",b="y,z"` at the commas between pairs.
func splitLabels(s string) []string {
	var out []string
	inQuote, esc, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// exerciseMetrics runs an App through requests that give every issuer
// family at least one sample, and returns its /metrics text. It runs on
// the memory store, whose gauges (issuer_memory_store_*) are among the
// families; the default file store adds none.
func exerciseMetrics(t *testing.T) string {
	t.Helper()
	base, c, app, _ := devApp(t, "memory")
	if code, body := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true); code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
	if code, _ := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}}, false); code != 401 {
		t.Fatalf("token without a secret: %d, want 401", code)
	}
	get(t, c, base+"/nope")
	get(t, c, base+"/healthz")
	app.Metrics.Rotated("https://api.example.com")
	app.Metrics.StoreError()
	_, text := get(t, c, base+"/metrics")
	return text
}

// TestMetricFamiliesKept: every metric family of the hand-written
// exposition the issuer had before it moved to client_golang
// (testdata/metric-families.golden, frozen) is still exported with the same
// type and the same label names, so dashboards and alerts keep working.
func TestMetricFamiliesKept(t *testing.T) {
	got := parseFamilies(t, exerciseMetrics(t))
	path := filepath.Join("testdata", "metric-families.golden")
	if *updateFamilies {
		var b strings.Builder
		b.WriteString("# metric families of /metrics: name type {labels}; frozen, see TestMetricFamiliesKept\n")
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(&b, "%s %s\n", n, got[n])
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, want, _ := strings.Cut(line, " ")
		n++
		if g, ok := got[name]; !ok {
			t.Errorf("metric family %s is gone (was %s)", name, want)
		} else if g.String() != want {
			t.Errorf("metric family %s is %s, was %s", name, g, want)
		}
	}
	if n < 15 {
		t.Fatalf("the golden file lists %d families; it should list every one", n)
	}
}
