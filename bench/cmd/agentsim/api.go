package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// apiClient talks to the REST API as the admin.
type apiClient struct {
	base  string // http://127.0.0.1:PORT
	token string
	http  *http.Client
}

func newAPIClient(base string, conns int) *apiClient {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data[:min(len(data), 300)]))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// waitHealthy polls /healthz until it answers 200.
func (c *apiClient) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.do(ctx, http.MethodGet, "/healthz", nil, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not healthy after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *apiClient) login(ctx context.Context, name, password string) error {
	var resp struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/login", map[string]string{"name": name, "password": password}, &resp); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	c.token = resp.Token
	return nil
}

// enrollToken creates one enrollment token good for uses enrollments.
func (c *apiClient) enrollToken(ctx context.Context, uses int) (string, error) {
	var resp struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/enrollment-tokens", map[string]any{
		"name": "agentsim", "ttl": "12h", "maxUses": uses, "labels": map[string]string{"source": "agentsim"},
	}, &resp)
	if err != nil {
		return "", fmt.Errorf("enrollment token: %w", err)
	}
	return resp.Token, nil
}

// count pages through a list and counts its items.
func (c *apiClient) count(ctx context.Context, path string, q url.Values) (int, error) {
	q.Set("limit", "1000")
	n := 0
	for {
		var page struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return n, err
		}
		n += len(page.Items)
		if page.Next == "" {
			return n, nil
		}
		q.Set("cursor", page.Next)
	}
}
