package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for zero Options fields.
const (
	DefaultMaxBytes    = 2 << 30 // 2 GiB per file
	DefaultRetries     = 3
	DefaultBackoff     = time.Second
	DefaultIdleTimeout = 2 * time.Minute
	DefaultParallel    = 4
)

// maxBackoff caps one wait between retries (unless Backoff itself is larger).
const maxBackoff = 30 * time.Second

// maxRestarts bounds how often one Fetch starts a download over from byte
// zero because the server's answer invalidated the partial file (a changed
// ETag, 416, a digest mismatch after a resume).
const maxRestarts = 2

// Options configure Fetch and FetchAll. The zero value works: it downloads
// into the user's cache directory with the defaults above.
type Options struct {
	// Client makes the requests; nil means a client whose transport waits
	// at most a minute for response headers.
	Client *http.Client
	// Dir is the download cache; "" means <user cache dir>/vigil/feed. It
	// is created if missing. One process at a time may fetch into a Dir.
	Dir string
	// MaxBytes bounds each file; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Retries is how many times a failed attempt is retried (network
	// errors, a connection dropped mid-body, HTTP 408, 425, 429, 5xx); 0
	// means DefaultRetries, negative means none.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one (at most 30s), with jitter: the actual wait is uniformly
	// distributed in [b/2, b]. 0 means DefaultBackoff.
	Backoff time.Duration
	// IdleTimeout aborts (and retries) an attempt whose body delivers no
	// byte for this long; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Parallel is how many sources FetchAll downloads at once; 0 means
	// DefaultParallel.
	Parallel int
	// Now is the clock for Fetched.Fetched; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() (Options, error) {
	if o.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		o.Client = &http.Client{Transport: t}
	}
	if o.Dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return o, fmt.Errorf("no download directory: %w", err)
		}
		o.Dir = filepath.Join(c, "vigil", "feed")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Fetched describes a complete, verified file in the cache.
type Fetched struct {
	Source Source
	// Path is <Dir>/<Source.Name>.
	Path string
	// SHA256 is the hex digest of the file at Path.
	SHA256 string
	// Bytes is the file's size.
	Bytes int64
	// NotModified reports that the file was already complete and current:
	// the server answered 304 to a conditional request, or the file
	// already had the expected digest and was not downloaded again.
	NotModified bool
	// Fetched is when this Fetch completed.
	Fetched time.Time
}

// Fetch downloads s into o.Dir, resuming an earlier partial download when
// the server allows it, and returns the complete file. When s names an
// expected digest (SHA256, or DigestURL) a file that does not match is
// discarded and ErrDigest returned; the file previously at Path, if any, is
// left as it was. A download interrupted by an error or by ctx leaves
// <Name>.part for the next call to resume.
func Fetch(ctx context.Context, s Source, o Options) (Fetched, error) {
	if err := s.Validate(); err != nil {
		return Fetched{}, err
	}
	o, err := o.withDefaults()
	if err != nil {
		return Fetched{}, err
	}
	return fetch(ctx, s, o)
}

// fetch is Fetch with o already defaulted.
func fetch(ctx context.Context, s Source, o Options) (Fetched, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Fetched{}, fmt.Errorf("fetch %s: %w", s.Name, err)
	}
	final := filepath.Join(o.Dir, s.Name)
	f := &fetcher{
		src:       s,
		o:         o,
		final:     final,
		part:      final + ".part",
		partState: final + ".part.json",
		meta:      final + ".meta.json",
		want:      strings.ToLower(s.SHA256),
	}
	if f.want == "" && s.DigestURL != "" {
		want, err := f.sidecar(ctx)
		if err != nil {
			return Fetched{}, fmt.Errorf("fetch %s: digest: %w", s.Name, err)
		}
		f.want = want
	}
	res, err := f.run(ctx)
	if err != nil {
		return Fetched{}, fmt.Errorf("fetch %s: %w", s.Name, err)
	}
	return res, nil
}

// FetchAll fetches every source, o.Parallel at a time. It returns the
// sources fetched, in the order given, and the errors of the others joined
// (each names its source). Sources with a duplicate Name are not fetched.
func FetchAll(ctx context.Context, srcs []Source, o Options) ([]Fetched, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	var (
		res  = make([]Fetched, len(srcs))
		errs = make([]error, len(srcs))
		seen = map[string]bool{}
		sem  = make(chan struct{}, o.Parallel)
		wg   sync.WaitGroup
	)
	for i, s := range srcs {
		if err := s.Validate(); err != nil {
			errs[i] = err
			continue
		}
		if seen[s.Name] {
			errs[i] = fmt.Errorf("%w: %s: duplicate name", ErrSource, s.Name)
			continue
		}
		seen[s.Name] = true
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("fetch %s: %w", s.Name, ctx.Err())
				return
			}
			defer func() { <-sem }()
			res[i], errs[i] = fetch(ctx, s, o)
		})
	}
	wg.Wait()
	var out []Fetched
	for i := range srcs {
		if errs[i] == nil {
			out = append(out, res[i])
		}
	}
	return out, errors.Join(errs...)
}

// fetcher is the state of one Fetch.
type fetcher struct {
	src                           Source
	o                             Options
	final, part, partState, meta  string
	want                          string // expected hex digest, "" if none
	noConditional, digestRestarts bool
}

// restartError asks run to start the download over from byte zero.
type restartError struct{ reason string }

func (e *restartError) Error() string { return "restart: " + e.reason }

// retryable marks an error worth another attempt after a backoff.
type retryable struct{ err error }

func (e *retryable) Error() string { return e.err.Error() }
func (e *retryable) Unwrap() error { return e.err }

// run makes attempts until one succeeds, fails for good, or the retries
// and restarts are used up.
func (f *fetcher) run(ctx context.Context) (Fetched, error) {
	if res, ok := f.alreadyCurrent(); ok {
		return res, nil
	}
	restarts, retries := 0, 0
	for {
		res, err := f.attempt(ctx)
		if err == nil {
			return res, nil
		}
		var rs *restartError
		var rt *retryable
		switch {
		case errors.As(err, &rs):
			if restarts++; restarts > maxRestarts {
				return Fetched{}, fmt.Errorf("%w: gave up after %d restarts (last: %s)", ErrProtocol, maxRestarts, rs.reason)
			}
			f.discardPart()
		case errors.As(err, &rt) && ctx.Err() == nil && retries < f.o.Retries:
			retries++
			if err := sleep(ctx, backoff(f.o.Backoff, retries)); err != nil {
				return Fetched{}, err
			}
		default:
			if ctx.Err() != nil {
				return Fetched{}, fmt.Errorf("%w (partial download kept)", context.Cause(ctx))
			}
			if retries > 0 {
				return Fetched{}, fmt.Errorf("after %d retries: %w", retries, err)
			}
			return Fetched{}, err
		}
	}
}

// alreadyCurrent reports whether the cached file already has the expected
// digest, so that nothing needs downloading.
func (f *fetcher) alreadyCurrent() (Fetched, bool) {
	if f.want == "" {
		return Fetched{}, false
	}
	m, ok := f.loadMeta()
	if !ok || m.SHA256 != f.want {
		return Fetched{}, false
	}
	sum, n, err := hashFile(f.final)
	if err != nil || sum != f.want {
		return Fetched{}, false
	}
	return f.result(sum, n, true), true
}

// loadMeta returns the state of the complete file, if it exists, is from
// this source's URL and still has the recorded size.
func (f *fetcher) loadMeta() (metaState, bool) {
	var m metaState
	if err := readState(f.meta, &m); err != nil || m.URL != f.src.URL || !isHexDigest(m.SHA256) {
		return m, false
	}
	fi, err := os.Stat(f.final)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != m.Bytes {
		return m, false
	}
	return m, true
}

// resumePoint returns how many bytes of the partial file can be kept and
// the state they came with; a partial file that cannot be resumed is
// removed.
func (f *fetcher) resumePoint() (int64, partState) {
	var st partState
	err := readState(f.partState, &st)
	fi, ferr := os.Stat(f.part)
	if err != nil || ferr != nil || st.URL != f.src.URL || st.validator() == "" ||
		!fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > f.o.MaxBytes {
		f.discardPart()
		return 0, partState{}
	}
	return fi.Size(), st
}

func (f *fetcher) discardPart() {
	os.Remove(f.part)
	os.Remove(f.partState)
}

// attempt makes one request and streams its body into the partial file.
func (f *fetcher) attempt(ctx context.Context) (Fetched, error) {
	offset, st := f.resumePoint()
	var meta *metaState
	if m, ok := f.loadMeta(); ok && offset == 0 && !f.noConditional && (f.want == "" || f.want == m.SHA256) {
		meta = &m
	}

	// The attempt's own context is cancelled when the body stalls.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, f.src.URL, nil)
	if err != nil {
		return Fetched{}, err
	}
	// Ask for the bytes as stored, so that ranges and digests refer to the
	// same bytes whatever the server's compression settings.
	req.Header.Set("Accept-Encoding", "identity")
	switch {
	case offset > 0:
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		req.Header.Set("If-Range", st.validator())
	case meta != nil:
		if meta.ETag != "" {
			req.Header.Set("If-None-Match", meta.ETag)
		}
		if meta.LastModified != "" {
			req.Header.Set("If-Modified-Since", meta.LastModified)
		}
	}
	resp, err := f.o.Client.Do(req)
	if err != nil {
		return Fetched{}, &retryable{err}
	}
	defer resp.Body.Close()

	total := int64(-1) // size of the whole file, when announced
	resumed := false
	switch resp.StatusCode {
	case http.StatusNotModified:
		if meta == nil {
			return Fetched{}, fmt.Errorf("%w: 304 to an unconditional request", ErrProtocol)
		}
		sum, n, err := hashFile(f.final)
		if err != nil || sum != meta.SHA256 {
			f.noConditional = true
			return Fetched{}, &restartError{"cached file changed on disk"}
		}
		return f.result(sum, n, true), nil
	case http.StatusOK:
		// The whole file: the server ignored Range, or If-Range found the
		// file changed. Start over.
		offset, st = 0, partState{}
		total = resp.ContentLength
	case http.StatusPartialContent:
		if offset == 0 {
			return Fetched{}, fmt.Errorf("%w: 206 to a request without Range", ErrProtocol)
		}
		start, tot, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != offset {
			return Fetched{}, &restartError{"server resumed at another offset"}
		}
		if changed(st.ETag, resp.Header.Get("ETag")) || st.ETag == "" && changed(st.LastModified, resp.Header.Get("Last-Modified")) {
			return Fetched{}, &restartError{"file changed on the server"}
		}
		total, resumed = tot, true
	case http.StatusRequestedRangeNotSatisfiable:
		return Fetched{}, &restartError{"range not satisfiable"}
	default:
		se := &StatusError{URL: redact(f.src.URL), Code: resp.StatusCode}
		if se.Temporary() {
			return Fetched{}, &retryable{se}
		}
		return Fetched{}, se
	}
	if total > f.o.MaxBytes {
		f.discardPart()
		return Fetched{}, fmt.Errorf("%w: %d bytes announced, limit %d", ErrTooLarge, total, f.o.MaxBytes)
	}

	h := sha256.New()
	pf, err := f.openPart(offset, h)
	if err != nil {
		return Fetched{}, err
	}
	if !resumed {
		st = partState{URL: f.src.URL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
		if total > 0 {
			st.Total = total
		}
	}
	st.Bytes = offset
	if err := writeState(f.partState, st); err != nil {
		pf.Close()
		return Fetched{}, err
	}

	body := &idleReader{r: resp.Body, d: f.o.IdleTimeout, t: time.AfterFunc(f.o.IdleTimeout, cancel)}
	n, rerr, werr := copyBody(io.MultiWriter(pf, h), body, f.o.MaxBytes-offset)
	body.t.Stop()
	written := offset + n
	if err := pf.Sync(); werr == nil {
		werr = err
	}
	if err := pf.Close(); werr == nil {
		werr = err
	}
	st.Bytes = written
	switch {
	case errors.Is(rerr, ErrTooLarge):
		f.discardPart()
		return Fetched{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, f.o.MaxBytes)
	case werr != nil:
		return Fetched{}, fmt.Errorf("write %s: %w", f.part, werr)
	}
	writeState(f.partState, st) // best effort: the .part file's size is what counts
	if rerr != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			rerr = fmt.Errorf("no data for %s", f.o.IdleTimeout)
		}
		return Fetched{}, &retryable{fmt.Errorf("download cut at byte %d: %w", written, rerr)}
	}
	if total >= 0 && written != total {
		return Fetched{}, &retryable{fmt.Errorf("%w: body ended at byte %d of %d", ErrProtocol, written, total)}
	}

	sum := hex.EncodeToString(h.Sum(nil))
	if f.want != "" && sum != f.want {
		f.discardPart()
		if resumed && !f.digestRestarts {
			// The server may have changed the file under an unchanged
			// validator; one download from scratch settles it.
			f.digestRestarts = true
			return Fetched{}, &restartError{"digest mismatch after resume"}
		}
		return Fetched{}, fmt.Errorf("%w: %s has sha256 %s, want %s", ErrDigest, redact(f.src.URL), sum, f.want)
	}
	return f.install(st, sum, written)
}

// openPart opens the partial file for writing at offset, feeding the bytes
// already there to h; offset 0 truncates it.
func (f *fetcher) openPart(offset int64, h hash.Hash) (*os.File, error) {
	if offset == 0 {
		return os.OpenFile(f.part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	pf, err := os.OpenFile(f.part, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(h, pf, offset); err != nil {
		pf.Close()
		return nil, fmt.Errorf("rehash %s: %w", f.part, err)
	}
	if err := pf.Truncate(offset); err != nil {
		pf.Close()
		return nil, err
	}
	return pf, nil
}

// install renames the verified partial file over the final one and records
// its state.
func (f *fetcher) install(st partState, sum string, n int64) (Fetched, error) {
	// Without the old state a crash right after the rename leaves a file
	// that the next run downloads unconditionally, never one described by
	// a stale state.
	if err := os.Remove(f.meta); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Fetched{}, err
	}
	if err := os.Rename(f.part, f.final); err != nil {
		return Fetched{}, err
	}
	syncDir(f.o.Dir)
	res := f.result(sum, n, false)
	m := metaState{URL: f.src.URL, ETag: st.ETag, LastModified: st.LastModified, SHA256: sum, Bytes: n, Fetched: res.Fetched}
	if err := writeState(f.meta, m); err != nil {
		return Fetched{}, err
	}
	os.Remove(f.partState)
	return res, nil
}

func (f *fetcher) result(sum string, n int64, notModified bool) Fetched {
	return Fetched{Source: f.src, Path: f.final, SHA256: sum, Bytes: n, NotModified: notModified, Fetched: f.o.Now()}
}

// sidecar downloads and parses Source.DigestURL, retrying like a download.
func (f *fetcher) sidecar(ctx context.Context) (string, error) {
	u, _ := url.Parse(f.src.URL) // validated
	file := path.Base(u.Path)
	for retries := 0; ; retries++ {
		b, err := f.getSmall(ctx, f.src.DigestURL)
		if err == nil {
			return parseDigest(b, file)
		}
		var rt *retryable
		if !errors.As(err, &rt) || ctx.Err() != nil || retries >= f.o.Retries {
			return "", err
		}
		if err := sleep(ctx, backoff(f.o.Backoff, retries+1)); err != nil {
			return "", err
		}
	}
}

func (f *fetcher) getSmall(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.o.Client.Do(req)
	if err != nil {
		return nil, &retryable{err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		se := &StatusError{URL: redact(u), Code: resp.StatusCode}
		if se.Temporary() {
			return nil, &retryable{se}
		}
		return nil, se
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSidecarBytes+1))
	if err != nil {
		return nil, &retryable{err}
	}
	if len(b) > maxSidecarBytes {
		return nil, fmt.Errorf("%w: sidecar %s over %d bytes", ErrTooLarge, redact(u), maxSidecarBytes)
	}
	return b, nil
}

// copyBody copies src to dst, failing with ErrTooLarge (as a read error)
// once more than limit bytes arrive. Read and write errors are returned
// apart: the first are the network's, the second the disk's.
func copyBody(dst io.Writer, src io.Reader, limit int64) (n int64, rerr, werr error) {
	buf := make([]byte, 64<<10)
	for {
		nr, err := src.Read(buf)
		if nr > 0 {
			if n+int64(nr) > limit {
				return n, ErrTooLarge, nil
			}
			nw, err := dst.Write(buf[:nr])
			n += int64(nw)
			if err != nil {
				return n, nil, err
			}
		}
		if err == io.EOF {
			return n, nil, nil
		}
		if err != nil {
			return n, err, nil
		}
	}
}

// idleReader re-arms t on every read; t cancels the request when it fires.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	ir.t.Reset(ir.d)
	return n, err
}

// parseContentRange parses "bytes first-last/total" (total may be "*",
// returned as -1).
func parseContentRange(v string) (first, total int64, err error) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	a, b, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("%w: Content-Range %q", ErrProtocol, v)
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = strconv.ParseInt(tot, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || total >= 0 && last >= total {
		return 0, 0, fmt.Errorf("%w: Content-Range %q", ErrProtocol, v)
	}
	return first, total, nil
}

// changed reports whether a validator the server sent differs from the one
// recorded (an absent one is no evidence either way).
func changed(recorded, got string) bool {
	return recorded != "" && got != "" && recorded != got
}

func hashFile(p string) (string, int64, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// backoff returns the jittered wait before retry number n (from 1).
func backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	if d > maxBackoff && base <= maxBackoff {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
