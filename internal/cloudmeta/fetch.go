package cloudmeta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Response bounds: a metadata item is a short line, a document a few KiB.
const (
	maxTextBody = 4 << 10
	maxJSONBody = 512 << 10
	maxValue    = 512 // longest value kept
	maxItems    = 64  // most lines, interfaces or addresses kept
)

// errNotPlain rejects a metadata value that is empty, too long, not UTF-8
// or holds control characters.
var errNotPlain = errors.New("not a plain text value")

// statusError is a metadata service answering other than 200 OK.
type statusError struct {
	method, path string
	code         int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d", e.method, e.path, e.code)
}

// fetcher sends requests to one metadata service.
type fetcher struct {
	c    *http.Client
	base string      // scheme://host[:port]
	hdr  http.Header // sent with every request
}

// do sends method path (path starts with "/") with the fetcher's and
// extra headers and returns a body of at most limit bytes.
func (f *fetcher) do(ctx context.Context, method, path string, extra http.Header, limit int64) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range f.hdr {
		req.Header[k] = vs
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	resp, err := f.c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &statusError{method, path, resp.StatusCode}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("%s %s: response over %d bytes", method, path, limit)
	}
	return b, resp.Header, nil
}

// text GETs path and returns it as one plain value.
func (f *fetcher) text(ctx context.Context, path string) (string, error) {
	b, _, err := f.do(ctx, http.MethodGet, path, nil, maxTextBody)
	if err != nil {
		return "", err
	}
	s, err := parseText(b)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	return s, nil
}

// optional GETs path as text, giving "" on any failure: for items some
// instances or API versions lack.
func (f *fetcher) optional(ctx context.Context, path string) string {
	s, _ := f.text(ctx, path)
	return s
}

// parseText returns b as one plain value: surrounding space trimmed,
// non-empty, at most maxValue bytes, UTF-8 without control characters.
func parseText(b []byte) (string, error) {
	s := clean(string(b))
	if s == "" {
		return "", errNotPlain
	}
	return s, nil
}

// clean is s trimmed if it is a plain value, else "".
func clean(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxValue || !utf8.ValidString(s) {
		return ""
	}
	for _, r := range s {
		if !unicode.IsPrint(r) { // control characters included
			return ""
		}
	}
	return s
}

// parseLines splits a listing into its plain non-empty lines, at most
// maxItems of them.
func parseLines(b []byte) ([]string, error) {
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		v := clean(line)
		if v == "" {
			return nil, errNotPlain
		}
		if len(out) == maxItems {
			break
		}
		out = append(out, v)
	}
	return out, nil
}

// addIPs appends the valid, not yet listed addresses of ips to list, in
// canonical form, up to maxItems in all.
func addIPs(list []string, ips ...string) []string {
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || len(list) >= maxItems {
			continue
		}
		v := a.String()
		dup := false
		for _, have := range list {
			dup = dup || have == v
		}
		if !dup {
			list = append(list, v)
		}
	}
	return list
}

// regionOfZone strips a zone's trailing letter ("cn-north-4a" →
// "cn-north-4") or suffix ("us-central1-a" → "us-central1").
func regionOfZone(zone string) string {
	if i := strings.LastIndexByte(zone, '-'); i > 0 && len(zone)-i == 2 {
		return zone[:i]
	}
	if n := len(zone); n > 1 && zone[n-1] >= 'a' && zone[n-1] <= 'z' && zone[n-2] >= '0' && zone[n-2] <= '9' {
		return zone[:n-1]
	}
	return ""
}

// lastSegment is what follows the last "/" of s.
func lastSegment(s string) string {
	return s[strings.LastIndexByte(s, '/')+1:]
}
