package containers

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// containerd speaks gRPC. Rather than link grpc-go and containerd's client
// (about 20 MB and 280 packages), the few calls needed here are made with
// net/http over HTTP/2 without TLS on the unix socket: a gRPC call is a
// POST of one length-prefixed protobuf message, answered by length-prefixed
// messages and a grpc-status trailer.

// maxGRPCMessage bounds one response message.
const maxGRPCMessage = 16 << 20

// grpcStatus is a call that ended with a gRPC status other than OK.
type grpcStatus struct {
	method  string
	code    int
	message string
}

func (e *grpcStatus) Error() string {
	return fmt.Sprintf("%s: gRPC status %d: %s", e.method, e.code, e.message)
}

// gRPC status codes used here.
const grpcUnimplemented = 12

// grpcClient calls methods on one unix socket.
type grpcClient struct {
	c *http.Client
}

func newGRPCClient(socket string) *grpcClient {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		Protocols:          &p,
		DisableCompression: true,
		IdleConnTimeout:    10 * time.Second,
	}
	return &grpcClient{c: &http.Client{Transport: tr}}
}

func (g *grpcClient) close() { g.c.CloseIdleConnections() }

// call invokes method ("/package.Service/Method") in containerd namespace
// ns ("" for none) with the encoded request, and passes each response
// message to each, in order: once for a unary call, any number of times
// for a server stream.
func (g *grpcClient) call(ctx context.Context, ns, method string, req []byte, each func([]byte) error) error {
	body := make([]byte, 5, 5+len(req))
	binary.BigEndian.PutUint32(body[1:], uint32(len(req)))
	body = append(body, req...)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://containerd"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/grpc+proto")
	hreq.Header.Set("Te", "trailers")
	if ns != "" {
		hreq.Header.Set("Containerd-Namespace", ns)
	}
	if dl, ok := ctx.Deadline(); ok {
		// At most 8 digits: longer deadlines are left to the context.
		if ms := time.Until(dl).Milliseconds(); ms > 0 && ms <= 99999999 {
			hreq.Header.Set("Grpc-Timeout", strconv.FormatInt(ms, 10)+"m")
		}
	}
	resp, err := g.c.Do(hreq)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", method, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/grpc") {
		return fmt.Errorf("%s: content type %q is not gRPC", method, ct)
	}
	// A call that fails at once answers with headers only.
	if err := statusOf(method, resp.Header); err != nil || resp.Header.Get("Grpc-Status") != "" {
		return err
	}
	if err := readFrames(resp.Body, each); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if resp.Trailer.Get("Grpc-Status") == "" {
		return fmt.Errorf("%s: response without grpc-status", method)
	}
	return statusOf(method, resp.Trailer)
}

// statusOf turns a grpc-status header or trailer other than 0 into an
// error.
func statusOf(method string, h http.Header) error {
	s := h.Get("Grpc-Status")
	if s == "" || s == "0" {
		return nil
	}
	code, err := strconv.Atoi(s)
	if err != nil {
		code = -1
	}
	msg := h.Get("Grpc-Message")
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	if len(msg) > 512 {
		msg = msg[:512]
	}
	return &grpcStatus{method: method, code: code, message: msg}
}

// readFrames reads length-prefixed gRPC messages from r until EOF.
func readFrames(r io.Reader, each func([]byte) error) error {
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("read message header: %w", err)
		}
		if hdr[0] != 0 {
			return errors.New("compressed message, none was asked for")
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > maxGRPCMessage {
			return fmt.Errorf("message of %d bytes, over %d", n, maxGRPCMessage)
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if err := each(msg); err != nil {
			return err
		}
	}
}
