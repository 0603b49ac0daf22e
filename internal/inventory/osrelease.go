package inventory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/asset"
)

// maxOSRelease bounds how much of an os-release file is read.
const maxOSRelease = 64 << 10

// ErrNoOSRelease means the filesystem has no os-release file.
var ErrNoOSRelease = errors.New("no os-release file")

// DetectOS reads etc/os-release (or usr/lib/os-release) from fsys.
func DetectOS(fsys fs.FS) (*asset.OS, error) {
	for _, name := range []string{"etc/os-release", "usr/lib/os-release"} {
		f, err := fsys.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		kv, err := ParseOSRelease(io.LimitReader(f, maxOSRelease))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if kv["ID"] == "" {
			continue
		}
		return &asset.OS{
			ID:         kv["ID"],
			VersionID:  kv["VERSION_ID"],
			Codename:   kv["VERSION_CODENAME"],
			PrettyName: kv["PRETTY_NAME"],
		}, nil
	}
	return nil, ErrNoOSRelease
}

// ParseOSRelease parses the os-release format (KEY=value lines, values
// optionally quoted with shell quoting rules for ", ' and \).
func ParseOSRelease(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxOSRelease)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		out[k] = unquote(v)
	}
	return out, sc.Err()
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return strings.Trim(v, `"`)
	}
	return v
}
