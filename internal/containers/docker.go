package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"time"
)

// Response bounds for the Engine API.
const (
	maxListBody    = 64 << 20
	maxInspectBody = 4 << 20
	maxSmallBody   = 64 << 10
)

// containerIDRE is a full Docker container ID; nothing else is put into an
// inspect path.
var containerIDRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// errEngineNotFound is the Engine answering 404 (a container removed
// between listing and inspecting it).
var errEngineNotFound = errors.New("not found")

// engine is a Docker Engine API client on a unix socket.
type engine struct {
	c *http.Client
}

func newEngine(socket string) *engine {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
		MaxIdleConns:       2,
		IdleConnTimeout:    10 * time.Second,
	}
	return &engine{c: &http.Client{Transport: tr}}
}

func (e *engine) close() { e.c.CloseIdleConnections() }

// get returns the body of GET path (path and query) if the Engine answers
// 200 with at most limit bytes.
func (e *engine) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, maxSmallBody)).Decode(&msg)
		err := fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, msg.Message)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", errEngineNotFound, err)
		}
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("GET %s: response over %d bytes", path, limit)
	}
	return b, nil
}

// collectDocker reads the Engine at socket: its version, every container
// (listed, then each inspected) and every image. Failures end up in
// Runtime.Error; what was read before them is returned.
func collectDocker(ctx context.Context, socket string) (Runtime, []Container, []Image) {
	rt := Runtime{Name: Docker, Socket: socket}
	e := newEngine(socket)
	defer e.close()

	b, err := e.get(ctx, "/version", maxSmallBody)
	if err == nil {
		var v engineVersion
		if v, err = decodeEngineVersion(b); err == nil {
			rt.Version, rt.APIVersion = v.Version, v.APIVersion
		}
	}
	if err != nil {
		rt.Error = err.Error()
		return rt, nil, nil
	}

	var cs []Container
	b, err = e.get(ctx, "/containers/json?all=1", maxListBody)
	if err == nil {
		cs, err = decodeEngineContainers(b)
	}
	if err != nil {
		rt.Error = err.Error()
	}
	kept := cs[:0]
	for _, c := range cs {
		if ctx.Err() != nil {
			c.Error = "not inspected: " + ctx.Err().Error()
			kept = append(kept, c)
			continue
		}
		switch err := e.inspect(ctx, &c); {
		case errors.Is(err, errEngineNotFound):
			continue // removed since the listing
		case err != nil:
			c.Error = err.Error()
		}
		kept = append(kept, c)
	}
	cs = kept

	var is []Image
	b, err = e.get(ctx, "/images/json", maxListBody)
	if err == nil {
		is, err = decodeEngineImages(b)
	}
	if err != nil {
		rt.Error = joinErr(rt.Error, err.Error())
	}
	return rt, cs, is
}

// inspect fills c from GET /containers/{id}/json.
func (e *engine) inspect(ctx context.Context, c *Container) error {
	if !containerIDRE.MatchString(c.ID) {
		return fmt.Errorf("container ID %q: not a full ID, not inspected", c.ID)
	}
	b, err := e.get(ctx, "/containers/"+c.ID+"/json", maxInspectBody)
	if err != nil {
		return err
	}
	return decodeEngineInspect(b, c)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
