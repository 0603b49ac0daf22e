package feed

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// advisories returns the shared advisory data directory, skipping the test
// when the checkout has no ../shared beside it.
func advisories(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "advisories")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: shared test data not found at %s (CI has shared/ beside the project): %v", dir, err)
	}
	return dir
}

// osvZip builds an OSV all.zip export, as the OSV bucket serves it, from the
// first n files of one ecosystem folder of the shared data.
func osvZip(t testing.TB, folder string, n int) []byte {
	t.Helper()
	dir := filepath.Join(advisories(t), folder)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && filepath.Ext(e.Name()) == ".json" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) < n {
		t.Fatalf("%s: %d OSV files, want at least %d", dir, len(names), n)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names[:n] {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileServer serves one file with http.ServeContent (so Range, If-Range,
// If-None-Match and If-Modified-Since behave as Go's file server does),
// with knobs for misbehaviour. Its fields may be changed between requests
// under mu.
type fileServer struct {
	mu          sync.Mutex
	content     []byte
	etag        string    // "" sends no ETag
	modTime     time.Time // zero sends no Last-Modified
	cuts        []int64   // per request, in order: drop the connection after this many body bytes (<0: don't)
	statuses    []int     // per request, in order, before cuts: answer with this status instead (0: don't)
	ignoreRange bool      // serve 200 whatever the Range
	ignoreIf    bool      // ignore If-Range (a broken server: 206 for a changed file)
	chunked     bool      // stream without Content-Length
	stall       chan struct{}
	stallAfter  int64 // with stall: send this many bytes, then wait for stall or the client to go

	reqs     []*http.Request // clones of the requests received, in arrival order
	codes    []int           // statuses answered, in arrival order (0 when the connection was dropped)
	inFlight int             // handlers still answering; requests waits for them
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inFlight++
	s.reqs = append(s.reqs, r.Clone(r.Context()))
	slot := len(s.codes)
	s.codes = append(s.codes, 0)
	status := 0
	if len(s.statuses) > 0 {
		status, s.statuses = s.statuses[0], s.statuses[1:]
	}
	cut := int64(-1)
	if status == 0 && len(s.cuts) > 0 {
		cut, s.cuts = s.cuts[0], s.cuts[1:]
	}
	content, etag, modTime := s.content, s.etag, s.modTime
	ignoreRange, ignoreIf, chunked, stall, stallAfter := s.ignoreRange, s.ignoreIf, s.chunked, s.stall, s.stallAfter
	s.mu.Unlock()

	rec := &recorder{ResponseWriter: w, left: cut}
	defer func() {
		s.mu.Lock()
		s.codes[slot] = rec.code
		s.inFlight--
		s.mu.Unlock()
	}()
	if status != 0 {
		rec.WriteHeader(status)
		return
	}
	if stall != nil {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		rec.WriteHeader(http.StatusOK)
		w.Write(content[:stallAfter])
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
		return
	}
	if chunked {
		rec.WriteHeader(http.StatusOK)
		for b := content; len(b) > 0; {
			n := min(len(b), 4096)
			if _, err := rec.Write(b[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			b = b[n:]
		}
		return
	}
	if ignoreRange {
		r.Header.Del("Range")
	}
	if ignoreIf {
		r.Header.Del("If-Range")
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	http.ServeContent(rec, r, "", modTime, bytes.NewReader(content))
}

// received counts the requests that arrived so far, answered or not.
func (s *fileServer) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *fileServer) set(content []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.content, s.etag = content, etag
}

// requests returns what the server received and answered, in arrival
// order, once every handler has finished: a client that abandons a
// response moves on before the server notices.
func (s *fileServer) requests() ([]*http.Request, []int) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		if s.inFlight == 0 || time.Now().After(deadline) {
			break
		}
		s.mu.Unlock()
	}
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...), append([]int(nil), s.codes...)
}

// recorder notes the status and, when left >= 0, drops the connection
// after left body bytes: it flushes what it wrote, hijacks the connection
// and closes it, as a failing network or a killed server does.
type recorder struct {
	http.ResponseWriter
	code int
	left int64
}

func (r *recorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

var errCut = errors.New("connection cut by the test server")

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if r.left < 0 || int64(len(p)) <= r.left {
		if r.left >= 0 {
			r.left -= int64(len(p))
		}
		return r.ResponseWriter.Write(p)
	}
	n, _ := r.ResponseWriter.Write(p[:r.left])
	r.ResponseWriter.(http.Flusher).Flush()
	if conn, _, err := r.ResponseWriter.(http.Hijacker).Hijack(); err == nil {
		conn.Close()
	}
	r.code = 0
	return n, errCut
}

// serve starts s on loopback and returns its file URL and Options using it.
func serve(t *testing.T, s *fileServer) (string, Options) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/data/", s)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL + "/data/all.zip", Options{
		Client:  ts.Client(),
		Dir:     t.TempDir(),
		Backoff: time.Millisecond,
		Now:     func() time.Time { return time.Date(2026, 8, 15, 12, 0, 0, 0, time.UTC) },
	}
}

func mustNotExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists (err %v), want it absent", filepath.Base(p), err)
		}
	}
}

func mustContain(t *testing.T, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes (sha256 %s), want %d bytes (sha256 %s)", filepath.Base(p), len(got), sum(got), len(want), sum(want))
	}
}
