package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsThisProgram: the README's resource-server section shows
// this program verbatim, so what readers copy is what the end-to-end tests
// build and run.
func TestREADMEShowsThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+string(src)+"```\n") {
		t.Fatal("README.md does not show examples/resource-server/main.go verbatim in a go code block")
	}
	if n := strings.Count(string(src), "\n"); n >= 40 {
		t.Errorf("the example has %d lines; the README promises under 40", n)
	}
}
