package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAPIBody bounds one API response the console reads.
const maxAPIBody = 32 << 20

// apiError is an error response of the API.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("api: %d %s: %s", e.Status, e.Code, e.Message)
}

// errTooLarge is returned for an API response over maxAPIBody.
var errTooLarge = errors.New("console: API response too large")

// client calls the API handler in-process, as the browser's user.
type client struct{ h http.Handler }

// call sends one request to the API for the browser request r, with the
// session token, and decodes the JSON answer into out (when not nil). The
// browser's remote address is passed on, so the API's login throttle
// and audit log see the real client. An error answer is an *apiError.
func (c client) call(r *http.Request, token, method, path string, q url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("console: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(r.Context(), method, target, rd)
	if err != nil {
		return fmt.Errorf("console: request %s %s: %w", method, path, err)
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	c.h.ServeHTTP(rec, req)
	if rec.over {
		return fmt.Errorf("%w: %s %s", errTooLarge, method, path)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(rec.body.Bytes(), &eb) != nil || eb.Error.Code == "" {
			eb.Error.Code, eb.Error.Message = "http_"+fmt.Sprint(rec.status), strings.TrimSpace(http.StatusText(rec.status))
		}
		return &apiError{Status: rec.status, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out == nil || rec.status == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}

// get is call with GET.
func (c client) get(r *http.Request, token, path string, q url.Values, out any) error {
	return c.call(r, token, http.MethodGet, path, q, nil, out)
}

// recorder is the ResponseWriter the API writes into: it keeps at most
// maxAPIBody bytes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	over   bool
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(b) > maxAPIBody {
		w.over = true
		return 0, errTooLarge
	}
	return w.body.Write(b)
}

// apiPath joins escaped path segments under /api/v1.
func apiPath(segs ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// statusOf is the HTTP status an error answers with.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}
