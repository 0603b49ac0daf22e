package corpus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// WriteList writes cs to path, one corpus a line: name, kind, path and
// description separated by tabs (the form bench/sbom.sh reads).
func WriteList(path string, cs []Corpus) error {
	var b bytes.Buffer
	for _, c := range cs {
		for _, f := range []string{c.Name, string(c.Kind), c.Path, c.Description} {
			if strings.ContainsAny(f, "\t\n") {
				return fmt.Errorf("corpus %s: field %q holds a tab or newline", c.Name, f)
			}
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", c.Name, c.Kind, c.Path, c.Description)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// ReadList reads a file written by WriteList.
func ReadList(path string) ([]Corpus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []Corpus
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 tab-separated fields, got %d", path, n, len(f))
		}
		cs = append(cs, Corpus{Name: f[0], Kind: Kind(f[1]), Path: f[2], Description: f[3]})
	}
	return cs, sc.Err()
}
