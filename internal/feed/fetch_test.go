package feed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func src(u string) Source { return Source{Name: "osv-go.zip", Kind: KindOSV, URL: u} }

func TestFetchFull(t *testing.T) {
	data := osvZip(t, "osv-go", 300)
	s := &fileServer{content: data, etag: `"v1"`}
	u, o := serve(t, s)
	got, err := Fetch(context.Background(), src(u), o)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != sum(data) || got.Bytes != int64(len(data)) || got.NotModified || got.Path != o.Dir+"/osv-go.zip" {
		t.Errorf("Fetched = %+v, want sha256 %s, %d bytes, modified", got, sum(data), len(data))
	}
	if want := o.Now(); !got.Fetched.Equal(want) {
		t.Errorf("Fetched.Fetched = %v, want %v", got.Fetched, want)
	}
	mustContain(t, got.Path, data)
	mustNotExist(t, got.Path+".part", got.Path+".part.json")
	reqs, _ := s.requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Range") != "" || reqs[0].Header.Get("Accept-Encoding") != "identity" {
		t.Errorf("requests: %d, first headers %v; want one plain identity GET", len(reqs), reqs[0].Header)
	}
}

// TestFetchResume cuts the connection mid-body; the retry, or a later run
// when retries are off, resumes with Range and If-Range.
func TestFetchResume(t *testing.T) {
	data := osvZip(t, "osv-go", 300)
	const cut = 100_000
	if len(data) < 2*cut {
		t.Fatalf("test zip has %d bytes, want more than %d", len(data), 2*cut)
	}
	checkResumed := func(t *testing.T, s *fileServer) {
		t.Helper()
		reqs, codes := s.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		if r, ir := reqs[1].Header.Get("Range"), reqs[1].Header.Get("If-Range"); r != fmt.Sprintf("bytes=%d-", cut) || ir != `"v1"` {
			t.Errorf("second request Range %q If-Range %q, want bytes=%d- and \"v1\"", r, ir, cut)
		}
		if codes[0] != 0 || codes[1] != http.StatusPartialContent {
			t.Errorf("statuses %v, want [cut, 206]", codes)
		}
	}

	t.Run("retry", func(t *testing.T) {
		s := &fileServer{content: data, etag: `"v1"`, cuts: []int64{cut}}
		u, o := serve(t, s)
		got, err := Fetch(context.Background(), src(u), o)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, got.Path, data)
		checkResumed(t, s)
	})

	t.Run("later run", func(t *testing.T) {
		s := &fileServer{content: data, etag: `"v1"`, cuts: []int64{cut}}
		u, o := serve(t, s)
		o.Retries = -1
		_, err := Fetch(context.Background(), src(u), o)
		if err == nil {
			t.Fatal("Fetch succeeded through a cut connection with retries off")
		}
		final := o.Dir + "/osv-go.zip"
		mustNotExist(t, final)
		if fi, err := os.Stat(final + ".part"); err != nil || fi.Size() != cut {
			t.Fatalf(".part after the cut: %v, %v; want %d bytes", fi, err, cut)
		}
		var st partState
		if err := readState(final+".part.json", &st); err != nil || st.URL != u || st.ETag != `"v1"` || st.Bytes != cut || st.Total != int64(len(data)) {
			t.Fatalf(".part.json = %+v, %v", st, err)
		}
		got, err := Fetch(context.Background(), src(u), o)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, got.Path, data)
		mustNotExist(t, final+".part", final+".part.json")
		checkResumed(t, s)
	})

	t.Run("last-modified validator", func(t *testing.T) {
		s := &fileServer{content: data, modTime: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), cuts: []int64{cut}}
		u, o := serve(t, s)
		got, err := Fetch(context.Background(), src(u), o)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, got.Path, data)
		reqs, codes := s.requests()
		if len(reqs) != 2 || reqs[1].Header.Get("If-Range") != "Sat, 01 Aug 2026 00:00:00 GMT" || codes[1] != http.StatusPartialContent {
			t.Errorf("requests %d, statuses %v; want a 206 resume guarded by Last-Modified", len(reqs), codes)
		}
	})

	t.Run("weak etag only", func(t *testing.T) {
		// A weak ETag cannot guard a range: the retry starts over.
		s := &fileServer{content: data, etag: `W/"v1"`, cuts: []int64{cut}}
		u, o := serve(t, s)
		got, err := Fetch(context.Background(), src(u), o)
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, got.Path, data)
		reqs, _ := s.requests()
		if len(reqs) != 2 || reqs[1].Header.Get("Range") != "" {
			t.Errorf("%d requests, second Range %q; want a plain retry", len(reqs), reqs[len(reqs)-1].Header.Get("Range"))
		}
	})
}

// TestFetchRestart covers answers that invalidate the partial file.
func TestFetchRestart(t *testing.T) {
	a := osvZip(t, "osv-go", 300)
	b := osvZip(t, "osv-crates.io", 300)
	const cut = 50_000
	tests := []struct {
		name  string
		setup func(s *fileServer) // after the cut, before the resume
		want  []byte
		codes []int // of the requests after the cut
	}{
		{"server ignores Range", func(s *fileServer) { s.ignoreRange = true }, a, []int{200}},
		{"etag changed, If-Range honoured", func(s *fileServer) { s.content, s.etag = b, `"v2"` }, b, []int{200}},
		{"etag changed, If-Range ignored", func(s *fileServer) { s.content, s.etag, s.ignoreIf = b, `"v2"`, true }, b, []int{206, 200}},
		{"range not satisfiable", func(s *fileServer) { s.content = a[:cut/2] }, a[:cut/2], []int{416, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fileServer{content: a, etag: `"v1"`, cuts: []int64{cut}}
			u, o := serve(t, s)
			o.Retries = -1
			if _, err := Fetch(context.Background(), src(u), o); err == nil {
				t.Fatal("Fetch succeeded through a cut connection")
			}
			s.mu.Lock()
			tt.setup(s)
			s.mu.Unlock()
			got, err := Fetch(context.Background(), src(u), o)
			if err != nil {
				t.Fatal(err)
			}
			mustContain(t, got.Path, tt.want)
			if got.SHA256 != sum(tt.want) {
				t.Errorf("SHA256 %s, want %s", got.SHA256, sum(tt.want))
			}
			reqs, codes := s.requests()
			if fmt.Sprint(codes[1:]) != fmt.Sprint(tt.codes) {
				t.Errorf("statuses after the cut %v, want %v", codes[1:], tt.codes)
			}
			if reqs[1].Header.Get("Range") != fmt.Sprintf("bytes=%d-", cut) {
				t.Errorf("first request after the cut has Range %q, want a resume", reqs[1].Header.Get("Range"))
			}
		})
	}
}

func TestFetchDigest(t *testing.T) {
	old := osvZip(t, "osv-go", 50)
	data := osvZip(t, "osv-go", 300)
	for _, resumed := range []bool{false, true} {
		t.Run(fmt.Sprintf("resumed=%v", resumed), func(t *testing.T) {
			s := &fileServer{content: old, etag: `"v1"`}
			u, o := serve(t, s)
			if _, err := Fetch(context.Background(), src(u), o); err != nil {
				t.Fatal(err)
			}
			s.set(data, `"v2"`)
			if resumed {
				s.cuts = []int64{10_000}
			}
			bad := src(u)
			bad.SHA256 = sum(old[:10]) // anything but the served file's digest
			_, err := Fetch(context.Background(), bad, o)
			if !errors.Is(err, ErrDigest) {
				t.Fatalf("Fetch with a wrong digest: %v, want ErrDigest", err)
			}
			final := o.Dir + "/osv-go.zip"
			mustContain(t, final, old) // the previous file is untouched
			mustNotExist(t, final+".part", final+".part.json")
			if reqs, _ := s.requests(); resumed && len(reqs) != 4 {
				// first fetch, cut, resume, one download from scratch
				t.Errorf("%d requests, want 4", len(reqs))
			}

			good := src(u)
			good.SHA256 = strings.ToUpper(sum(data))
			got, err := Fetch(context.Background(), good, o)
			if err != nil {
				t.Fatal(err)
			}
			mustContain(t, got.Path, data)
		})
	}
}

func TestFetchSidecar(t *testing.T) {
	data := osvZip(t, "osv-go", 100)
	tests := []struct {
		name    string
		sidecar string
		status  int
		wantErr error
	}{
		{"sha256sum", sum(data) + "  all.zip\n", 200, nil},
		{"binary mode, several files", sum([]byte("x")) + " *other.zip\n" + sum(data) + " *all.zip\n", 200, nil},
		{"bare hex", strings.ToUpper(sum(data)), 200, nil},
		{"bsd", "SHA256 (all.zip) = " + sum(data) + "\n", 200, nil},
		{"wrong digest", sum([]byte("x")) + "  all.zip\n", 200, ErrDigest},
		{"no digest", "not a digest\n", 200, ErrDigest},
		{"missing", "", 404, &StatusError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fileServer{content: data, etag: `"v1"`}
			u, o := serve(t, fs)
			side := &fileServer{content: []byte(tt.sidecar)}
			if tt.status != 200 {
				side.statuses = []int{tt.status}
			}
			su, _ := serve(t, side)
			s := src(u)
			s.DigestURL = su
			got, err := Fetch(context.Background(), s, o)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
				mustContain(t, got.Path, data)
			case *StatusError:
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tt.status {
					t.Fatalf("err = %v, want HTTP %d", err, tt.status)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
				mustNotExist(t, o.Dir+"/osv-go.zip", o.Dir+"/osv-go.zip.part")
			}
		})
	}
}

func TestFetchNotModified(t *testing.T) {
	data := osvZip(t, "osv-go", 100)
	mod := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		s      *fileServer
		header string
	}{
		{"etag", &fileServer{content: data, etag: `"v1"`}, "If-None-Match"},
		{"last-modified", &fileServer{content: data, modTime: mod}, "If-Modified-Since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, o := serve(t, tt.s)
			first, err := Fetch(context.Background(), src(u), o)
			if err != nil {
				t.Fatal(err)
			}
			second, err := Fetch(context.Background(), src(u), o)
			if err != nil {
				t.Fatal(err)
			}
			if !second.NotModified || second.SHA256 != first.SHA256 || second.Bytes != first.Bytes || second.Path != first.Path {
				t.Errorf("second Fetch = %+v, want NotModified with the first's file", second)
			}
			reqs, codes := tt.s.requests()
			if len(reqs) != 2 || reqs[1].Header.Get(tt.header) == "" || codes[1] != http.StatusNotModified {
				t.Errorf("%d requests, statuses %v, %s %q; want a conditional 304", len(reqs), codes, tt.header, reqs[1].Header.Get(tt.header))
			}

			// A cached file changed on disk is downloaded again.
			if err := os.WriteFile(first.Path, []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
			third, err := Fetch(context.Background(), src(u), o)
			if err != nil {
				t.Fatal(err)
			}
			if third.NotModified {
				t.Error("a tampered cached file was reported NotModified")
			}
			mustContain(t, third.Path, data)
		})
	}

	t.Run("pinned digest", func(t *testing.T) {
		s := &fileServer{content: data, etag: `"v1"`}
		u, o := serve(t, s)
		pinned := src(u)
		pinned.SHA256 = sum(data)
		if _, err := Fetch(context.Background(), pinned, o); err != nil {
			t.Fatal(err)
		}
		got, err := Fetch(context.Background(), pinned, o)
		if err != nil {
			t.Fatal(err)
		}
		if reqs, _ := s.requests(); !got.NotModified || len(reqs) != 1 {
			t.Errorf("NotModified %v after %d requests; want a file already at its pinned digest not to be requested", got.NotModified, len(reqs))
		}
	})
}

func TestFetchMaxBytes(t *testing.T) {
	data := osvZip(t, "osv-go", 100)
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			s := &fileServer{content: data, etag: `"v1"`, chunked: chunked}
			u, o := serve(t, s)
			o.MaxBytes = int64(len(data)) - 1
			_, err := Fetch(context.Background(), src(u), o)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			final := o.Dir + "/osv-go.zip"
			mustNotExist(t, final, final+".part", final+".part.json")
			if reqs, _ := s.requests(); len(reqs) != 1 {
				t.Errorf("%d requests, want 1 (no retry of an oversized file)", len(reqs))
			}

			o.MaxBytes = int64(len(data))
			got, err := Fetch(context.Background(), src(u), o)
			if err != nil {
				t.Fatalf("at exactly MaxBytes: %v", err)
			}
			mustContain(t, got.Path, data)
		})
	}
}

func TestFetchRetries(t *testing.T) {
	data := []byte("CVE-2024-0001,0.5,0.9\n")
	tests := []struct {
		name     string
		statuses []int
		retries  int
		wantReqs int
		wantCode int // 0: success
	}{
		{"recovers", []int{503, 502, 429}, 3, 4, 0},
		{"gives up", []int{503, 503, 503, 503}, 2, 3, 503},
		{"not retried", []int{404}, 3, 1, 404},
		{"retries off", []int{500}, -1, 1, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fileServer{content: data, statuses: tt.statuses}
			u, o := serve(t, s)
			o.Retries = tt.retries
			got, err := Fetch(context.Background(), Source{Name: "epss.csv", Kind: KindEPSS, URL: u}, o)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatal(err)
				}
				mustContain(t, got.Path, data)
			} else {
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tt.wantCode {
					t.Fatalf("err = %v, want HTTP %d", err, tt.wantCode)
				}
			}
			if reqs, _ := s.requests(); len(reqs) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(reqs), tt.wantReqs)
			}
		})
	}
}

func TestFetchContextCancel(t *testing.T) {
	data := osvZip(t, "osv-go", 100)
	const sent = 20_000
	stall := make(chan struct{})
	defer close(stall)
	s := &fileServer{content: data, etag: `"v1"`, stall: stall, stallAfter: sent}
	u, o := serve(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Fetch(ctx, src(u), o)
		done <- err
	}()
	part := o.Dir + "/osv-go.zip.part"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if fi, err := os.Stat(part); err == nil && fi.Size() == sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the download never reached the stall")
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch ignored the cancelled context")
	}
	mustNotExist(t, o.Dir+"/osv-go.zip")
	if fi, err := os.Stat(part); err != nil || fi.Size() != sent {
		t.Fatalf(".part after cancel: %v, %v; want %d resumable bytes", fi, err, sent)
	}
	if reqs, _ := s.requests(); len(reqs) != 1 {
		t.Errorf("%d requests, want 1 (no retry after cancel)", len(reqs))
	}

	// The next run resumes.
	s.mu.Lock()
	s.stall = nil
	s.mu.Unlock()
	got, err := Fetch(context.Background(), src(u), o)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, got.Path, data)
	if reqs, _ := s.requests(); reqs[1].Header.Get("Range") != fmt.Sprintf("bytes=%d-", sent) {
		t.Errorf("resume Range %q", reqs[1].Header.Get("Range"))
	}
}

func TestFetchIdleTimeout(t *testing.T) {
	data := osvZip(t, "osv-go", 100)
	stall := make(chan struct{})
	defer close(stall)
	s := &fileServer{content: data, etag: `"v1"`, stall: stall, stallAfter: 20_000}
	u, o := serve(t, s)
	o.IdleTimeout = 100 * time.Millisecond
	// The first request stalls; later ones are served normally.
	go func() {
		for {
			if s.received() > 0 {
				s.mu.Lock()
				s.stall = nil
				s.mu.Unlock()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	got, err := Fetch(context.Background(), src(u), o)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, got.Path, data)
	if reqs, _ := s.requests(); len(reqs) != 2 || reqs[1].Header.Get("Range") != "bytes=20000-" {
		t.Errorf("%d requests; want a stalled one and a resume", len(reqs))
	}
}

func TestFetchAll(t *testing.T) {
	data := osvZip(t, "osv-go", 20)
	ok := &fileServer{content: data, etag: `"v1"`}
	u, o := serve(t, ok)
	missing := &fileServer{statuses: []int{404}}
	mu, _ := serve(t, missing)
	srcs := []Source{
		{Name: "osv-go.zip", Kind: KindOSV, URL: u},
		{Name: "kev.json", Kind: KindKEV, URL: mu},
		{Name: "osv-go.zip", Kind: KindOSV, URL: u},
		{Name: "../escape", Kind: KindOSV, URL: u},
	}
	got, err := FetchAll(context.Background(), srcs, o)
	if len(got) != 1 || got[0].Source.Name != "osv-go.zip" {
		t.Fatalf("FetchAll returned %+v, want osv-go.zip only", got)
	}
	mustContain(t, got[0].Path, data)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || !errors.Is(err, ErrSource) {
		t.Fatalf("err = %v, want the 404 and the invalid sources joined", err)
	}
	for _, want := range []string{"fetch kev.json", "duplicate name", `"../escape"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
