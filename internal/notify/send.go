package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// Options configure NewSender; the zero value is fine.
type Options struct {
	// Timeout bounds one delivery attempt (default 10 s).
	Timeout time.Duration
	// Attempts is how many times a delivery is tried (default 3). A
	// refusal by the service (a 4xx answer, an error code) is not retried;
	// network errors, 5xx and 429 answers are.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// later one (default 1 s).
	Backoff time.Duration
	// Now is the clock of signatures; nil means time.Now.
	Now func() time.Time
	// TLS is the base TLS configuration of SMTP connections (tests set
	// RootCAs); nil means the system's.
	TLS *tls.Config
	// Transport is the HTTP transport; nil means a copy of
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Sender delivers messages to channels. It is safe for concurrent use.
type Sender struct {
	o      Options
	client *http.Client
}

// NewSender returns a Sender.
func NewSender(o *Options) *Sender {
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	tr := opts.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Sender{o: opts, client: &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		// A redirect would resend the message (and its signature) to a
		// host nobody configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// maxAnswer bounds the part of a service's answer that is read.
const maxAnswer = 64 << 10

// Send delivers m to a channel of the kind with the configuration raw
// (as stored), retrying as Options say. Its errors name the kind and the
// service's host, never the URL, token or password.
func (s *Sender) Send(ctx context.Context, kind string, raw []byte, m Message) error {
	c, err := ParseConfig(kind, raw)
	if err != nil {
		return err
	}
	if m.Time.IsZero() {
		m.Time = s.o.Now()
	}
	m.Time = m.Time.UTC()
	var attempt func(ctx context.Context) error
	switch kind {
	case store.ChannelEmail:
		attempt = func(ctx context.Context) error { return s.sendEmail(ctx, c, m) }
	default:
		build := map[string]func(Config, Message, time.Time) (request, error){
			store.ChannelWebhook:  webhookRequest,
			store.ChannelSlack:    slackRequest,
			store.ChannelDingTalk: dingTalkRequest,
			store.ChannelFeishu:   feishuRequest,
			store.ChannelWeCom:    weComRequest,
		}[kind]
		attempt = func(ctx context.Context) error {
			// Signatures carry a timestamp: each attempt signs anew.
			r, err := build(c, m, s.o.Now())
			if err != nil {
				return &serviceError{msg: "format: " + err.Error()}
			}
			return s.post(ctx, r)
		}
	}
	wait := s.o.Backoff
	for i := 1; ; i++ {
		err = attempt(ctx)
		var se *serviceError
		if err == nil || errors.As(err, &se) || i >= s.o.Attempts || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("notify %s: %w (after %d attempts)", kind, ctx.Err(), i)
		case <-t.C:
		}
		wait *= 2
	}
	if err != nil {
		return fmt.Errorf("notify %s: %w", kind, err)
	}
	return nil
}

// post sends one request and reads the answer.
func (s *Sender) post(ctx context.Context, r request) error {
	u, err := url.Parse(r.url)
	if err != nil {
		return &serviceError{msg: "bad URL"}
	}
	host := u.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(r.body))
	if err != nil {
		return &serviceError{msg: "bad URL"}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "vigil-notify")
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which holds the channel's token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", host, redactErr(err, u))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("POST %s: %s", host, resp.Status)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return &serviceError{msg: fmt.Sprintf("POST %s: %s: %s", host, resp.Status, oneLine(string(body)))}
	}
	if r.check != nil {
		if err := r.check(body); err != nil {
			return &serviceError{msg: fmt.Sprintf("POST %s: %v", host, err)}
		}
	}
	return nil
}

// redactErr keeps an error's text unless it quotes the URL's path or
// query (where webhook tokens live), which it then leaves out.
func redactErr(err error, u *url.URL) error {
	msg := err.Error()
	for _, secret := range []string{u.String(), u.RawQuery, u.EscapedPath(), u.Path} {
		if len(secret) > 1 && strings.Contains(msg, secret) {
			return errors.New("request failed (details withheld: they quote the channel URL)")
		}
	}
	return err
}
