package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// The Docker Engine is spoken to over its HTTP API with net/http rather
// than through go-containerregistry's daemon package, which does build with
// this module's dependencies. That package either buffers the whole `docker
// save` stream in memory or spools it to a temporary file removed only when
// the garbage collector gets to it, and never by Close; it rebuilds the
// config from `docker inspect` and `docker history` (which lists history
// newest first) instead of reading the image's own; and it would link the
// moby client into the agent. Two GET requests do the job: inspect, then
// save spooled to a temporary file that Image.Close removes, read as a
// docker-save archive.

const defaultDockerHost = "unix:///var/run/docker.sock"

// pingTimeout bounds how long auto mode waits for the Engine to answer.
const pingTimeout = 3 * time.Second

// engineName accepts what the Engine takes as an image name or ID, and
// nothing that could change the request path or query.
var engineName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`)

// engine is a Docker Engine API client.
type engine struct {
	host string
	base string // URL prefix, "http://docker" for a unix socket
	c    *http.Client
}

// newEngine makes a client for host (unix:///path or tcp://host:port);
// "" means $DOCKER_HOST, then the default socket. tcp is plain HTTP: TLS
// endpoints are not supported.
func newEngine(host string) (*engine, error) {
	if host == "" {
		host = os.Getenv("DOCKER_HOST")
	}
	if host == "" {
		host = defaultDockerHost
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w", host, err)
	}
	tr := &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConns: 2, IdleConnTimeout: 30 * time.Second}
	e := &engine{host: host, c: &http.Client{Transport: tr}}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		e.base = "http://docker"
	case "tcp", "http":
		e.base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("docker host %q: only unix:// and tcp:// are supported", host)
	}
	return e, nil
}

// get sends GET path?query and returns the response if it is 200; a 404 or
// 400 gives ErrNotFound, other statuses an error with the Engine's message.
func (e *engine) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	u := e.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrEngineUnavailable, e.host, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&msg)
	// 400 is the Engine refusing a name it cannot parse ("invalid
	// reference format"): it has no such image either.
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest {
		return nil, fmt.Errorf("%w: docker engine: %s", ErrNotFound, msg.Message)
	}
	return nil, fmt.Errorf("docker engine %s %s: %s: %s", http.MethodGet, path, resp.Status, msg.Message)
}

// ping checks that the Engine answers.
func (e *engine) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	resp, err := e.get(ctx, "/_ping", nil)
	if err != nil {
		if errors.Is(err, ErrEngineUnavailable) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrEngineUnavailable, err)
	}
	resp.Body.Close()
	return nil
}

// engineImage is the part of GET /images/{name}/json used here.
type engineImage struct {
	ID          string   `json:"Id"`
	RepoTags    []string `json:"RepoTags"`
	RepoDigests []string `json:"RepoDigests"`
}

// inspect looks name up; ErrNotFound if the Engine does not have it.
func (e *engine) inspect(ctx context.Context, name string) (*engineImage, error) {
	if !engineName.MatchString(name) || strings.Contains(name, "..") {
		return nil, fmt.Errorf("%w: %q is not a docker image name", ErrNotFound, name)
	}
	resp, err := e.get(ctx, "/images/"+name+"/json", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var im engineImage
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIndexSize)).Decode(&im); err != nil {
		return nil, fmt.Errorf("docker engine: inspect %s: %w", name, err)
	}
	if !engineName.MatchString(im.ID) {
		return nil, fmt.Errorf("docker engine: inspect %s: bad image ID %q", name, im.ID)
	}
	return &im, nil
}

// save streams `docker save ID` into a new temporary file and returns its
// path; the caller removes it.
func (e *engine) save(ctx context.Context, id string) (string, error) {
	resp, err := e.get(ctx, "/images/get", url.Values{"names": {id}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := os.CreateTemp("", "vigil-docker-save-*.tar")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, resp.Body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("docker engine: save %s: %w", id, err)
	}
	return out.Name(), nil
}

// fromDocker exports name from the Engine and opens the export. The
// Engine's RepoDigests become the asset's.
func fromDocker(ctx context.Context, e *engine, ref, name string, want platform) (*found, error) {
	im, err := e.inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	// Save by ID: a tag moved between the two calls cannot swap the image.
	spool, err := e.save(ctx, im.ID)
	if err != nil {
		return nil, err
	}
	f, err := fromArchive(ref, spool, selector{}, want)
	if err != nil {
		os.Remove(spool)
		return nil, err
	}
	f.cleanup = append([]func() error{func() error { return os.Remove(spool) }}, f.cleanup...)
	f.repoDigests = im.RepoDigests
	return f, nil
}
