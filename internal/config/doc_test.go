package config

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (testdata/*.golden.yaml, testdata/issuer.example.yaml, the key list in doc.go)")

// defaultFor returns the default of a key outside lists as the encoder
// writes it, "" for mappings, or "none" for an empty value.
func defaultFor(t *testing.T, path string) string {
	t.Helper()
	v := reflect.ValueOf(Default()).Elem()
	for _, name := range strings.Split(path, ".") {
		idx, ok := fieldsOf(v.Type())[name]
		if !ok {
			t.Fatalf("no key %q in %q", name, path)
		}
		v = v.Field(idx)
	}
	if v.Kind() == reflect.Struct && v.Type() != prefixType {
		return ""
	}
	if v.IsZero() && v.Kind() != reflect.Int && v.Kind() != reflect.Bool {
		return "none"
	}
	var e encoder
	return e.value(v, reflect.Value{}, path).Value
}

// renderKeys renders keyDocs as the key list of doc.go.
func renderKeys(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, k := range keyDocs {
		def := k.def
		if def == "" && !strings.Contains(k.path, "[]") {
			def = defaultFor(t, k.path)
		}
		head := k.path + ": " + k.typ
		switch def {
		case "":
		case "required":
			head += ", required"
		case "none":
			head += ", optional"
		default:
			head += ", default " + def
		}
		b.WriteString("//\t" + head + "\n")
		for _, line := range strings.Split(wrap(k.doc, 66), "\n") {
			b.WriteString("//\t    " + line + "\n")
		}
	}
	return b.String()
}

// TestDocGo keeps the key list in doc.go, the code block that ends the
// package comment after the "# Keys" heading, identical to keyDocs.
func TestDocGo(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	h := bytes.Index(src, []byte("\n// # Keys\n"))
	if h < 0 {
		t.Fatal("doc.go: no \"# Keys\" heading")
	}
	i := bytes.Index(src[h:], []byte("\n//\n//\t"))
	j := bytes.Index(src, []byte("\npackage config\n"))
	if i < 0 || j < h+i {
		t.Fatal("doc.go: no code block after the \"# Keys\" heading")
	}
	i += h + len("\n//\n")
	want := renderKeys(t)
	if got := string(src[i : j+1]); got != want {
		if !*update {
			t.Fatalf("doc.go key list is out of date; run go test -run TestDocGo -update\n--- got\n%s\n--- want\n%s", got, want)
		}
		out := slices.Concat(src[:i], []byte(want), src[j+1:])
		if err := os.WriteFile("doc.go", out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeyDocsCoverConfig: every key of Config is documented, once, in
// declaration order, and nothing else is.
func TestKeyDocsCoverConfig(t *testing.T) {
	var documented []string
	for _, k := range keyDocs {
		documented = append(documented, k.path)
		if k.typ == "" || k.doc == "" {
			t.Errorf("keyDocs[%q]: empty type or doc", k.path)
		}
	}
	if got, want := documented, keyPaths(); !slices.Equal(got, want) {
		t.Fatalf("keyDocs paths differ from Config keys\n got: %v\nwant: %v", got, want)
	}
}
