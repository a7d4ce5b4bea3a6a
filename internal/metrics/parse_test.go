package metrics_test

import (
	"fmt"
	"strconv"
	"strings"
)

// sample is one parsed sample line.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseText is a small, strict parser of the text exposition format 0.0.4:
// it checks that every family has HELP then TYPE before its samples, that
// sample names belong to the family announced last, that label values are
// properly escaped, and that histogram buckets are cumulative with +Inf
// equal to _count.
func parseText(text string) (map[string]string, []sample, error) {
	types := map[string]string{}
	var samples []sample
	cur := ""
	if text != "" && !strings.HasSuffix(text, "\n") {
		return nil, nil, fmt.Errorf("text does not end in a newline")
	}
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.SplitN(line[len("# HELP "):], " ", 2)
			if len(f) != 2 {
				return nil, nil, fmt.Errorf("line %d: bad HELP", n+1)
			}
			if _, dup := types[f[0]]; dup {
				return nil, nil, fmt.Errorf("line %d: family %s repeated", n+1, f[0])
			}
			cur = f[0]
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line[len("# TYPE "):])
			if len(f) != 2 || f[0] != cur {
				return nil, nil, fmt.Errorf("line %d: TYPE without HELP", n+1)
			}
			switch f[1] {
			case "counter", "gauge", "histogram", "summary", "untyped":
			default:
				return nil, nil, fmt.Errorf("line %d: bad type %q", n+1, f[1])
			}
			types[cur] = f[1]
		case strings.HasPrefix(line, "#"), line == "":
			return nil, nil, fmt.Errorf("line %d: unexpected %q", n+1, line)
		default:
			s, err := parseSample(line)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			base := s.name
			if types[cur] == "histogram" {
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					base = strings.TrimSuffix(base, suf)
				}
			}
			if base != cur {
				return nil, nil, fmt.Errorf("line %d: sample %s outside its family %s", n+1, s.name, cur)
			}
			samples = append(samples, s)
		}
	}
	return types, samples, checkHistograms(types, samples)
}

func parseSample(line string) (sample, error) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no name")
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for line != "" && line[0] != '}' {
			eq := strings.IndexByte(line, '=')
			if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
				return s, fmt.Errorf("bad label")
			}
			name := line[:eq]
			line = line[eq+2:]
			var v strings.Builder
			for {
				if line == "" {
					return s, fmt.Errorf("unterminated label value")
				}
				c := line[0]
				line = line[1:]
				if c == '"' {
					break
				}
				if c == '\n' {
					return s, fmt.Errorf("raw newline in label value")
				}
				if c == '\\' {
					if line == "" {
						return s, fmt.Errorf("dangling escape")
					}
					switch line[0] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, fmt.Errorf("bad escape \\%c", line[0])
					}
					line = line[1:]
					continue
				}
				v.WriteByte(c)
			}
			s.labels[name] = v.String()
			line = strings.TrimPrefix(line, ",")
		}
		if line == "" {
			return s, fmt.Errorf("unterminated labels")
		}
		line = line[1:]
	}
	if !strings.HasPrefix(line, " ") {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(strings.Replace(line[1:], "+Inf", "Inf", 1), 64)
	if err != nil {
		return s, fmt.Errorf("bad value %q", line[1:])
	}
	s.value = v
	return s, nil
}

func checkHistograms(types map[string]string, samples []sample) error {
	type key struct{ name, labels string }
	last := map[key]float64{}
	inf := map[key]float64{}
	for _, s := range samples {
		if !strings.HasSuffix(s.name, "_bucket") || types[strings.TrimSuffix(s.name, "_bucket")] != "histogram" {
			continue
		}
		k := key{strings.TrimSuffix(s.name, "_bucket"), labelKey(s.labels, "le")}
		if s.value < last[k] {
			return fmt.Errorf("%s buckets not cumulative", s.name)
		}
		last[k] = s.value
		if s.labels["le"] == "+Inf" {
			inf[k] = s.value
		}
	}
	for _, s := range samples {
		if strings.HasSuffix(s.name, "_count") && types[strings.TrimSuffix(s.name, "_count")] == "histogram" {
			k := key{strings.TrimSuffix(s.name, "_count"), labelKey(s.labels, "")}
			if v, ok := inf[k]; !ok || v != s.value {
				return fmt.Errorf("%s = %v but +Inf bucket = %v", s.name, s.value, v)
			}
		}
	}
	return nil
}

func labelKey(l map[string]string, skip string) string {
	var b strings.Builder
	for _, k := range sortedKeys(l) {
		if k != skip {
			fmt.Fprintf(&b, "%s=%q,", k, l[k])
		}
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}
