package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixed is the clock of every test signature.
var fixed = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testSender() *Sender {
	return NewSender(&Options{Timeout: 2 * time.Second, Attempts: 3, Backoff: time.Millisecond, Now: func() time.Time { return fixed }})
}

var msg = Message{Event: EventFindings, Severity: "critical", Title: "2 new findings on web-1",
	Text: "- [critical] CVE-2026-0001 in openssl 3.0.1\n- [high] CVE-2026-0002 in zlib 1.2.13\n", Time: fixed}

// hit is one request a test server received.
type hit struct {
	path, query, ctype, sig string
	body                    []byte
}

// service is a loopback HTTP server answering each request with the next
// of answers (the last one repeats).
func service(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, func() []hit) {
	t.Helper()
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		n := len(hits)
		hits = append(hits, hit{r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("X-Vigil-Signature"), b})
		mu.Unlock()
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		answers[min(n, len(answers)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []hit { mu.Lock(); defer mu.Unlock(); return append([]hit(nil), hits...) }
}

func answer(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(status); io.WriteString(w, body) }
}

func cfg(t *testing.T, c Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON compares two JSON documents by value.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if string(ga) != string(gb) {
		t.Errorf("body\n got %s\nwant %s", ga, gb)
	}
}

func TestPayloads(t *testing.T) {
	plain := "2 new findings on web-1\n\n- [critical] CVE-2026-0001 in openssl 3.0.1\n- [high] CVE-2026-0002 in zlib 1.2.13\n"
	md := "- [critical] CVE-2026-0001 in openssl 3.0.1  \n- [high] CVE-2026-0002 in zlib 1.2.13"
	for _, tc := range []struct {
		kind, path, secret, ok string
		want                   string
	}{
		{kind: "slack", path: "/services/T0/B0/xyz", ok: "ok", want: `{"text":` + quote(plain) + `}`},
		{kind: "webhook", path: "/hook", ok: "",
			want: `{"event":"findings.new","severity":"critical","title":"2 new findings on web-1","text":` + quote(msg.Text) + `,"time":"2026-03-01T12:00:00Z"}`},
		{kind: "dingtalk", path: "/robot/send", ok: `{"errcode":0,"errmsg":"ok"}`,
			want: `{"msgtype":"markdown","markdown":{"title":"2 new findings on web-1","text":` + quote("#### 2 new findings on web-1\n\n"+md) + `}}`},
		{kind: "wecom", path: "/cgi-bin/webhook/send", ok: `{"errcode":0,"errmsg":"ok"}`,
			want: `{"msgtype":"markdown","markdown":{"content":` + quote("**2 new findings on web-1**\n"+md) + `}}`},
		{kind: "feishu", path: "/open-apis/bot/v2/hook/abc", ok: `{"code":0,"msg":"success"}`,
			want: `{"msg_type":"text","content":{"text":` + quote(plain) + `}}`},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			srv, hits := service(t, answer(200, tc.ok))
			u := srv.URL + tc.path
			if tc.kind == "dingtalk" || tc.kind == "wecom" {
				u += "?access_token=tok123"
			}
			if err := testSender().Send(context.Background(), tc.kind, cfg(t, Config{URL: u}), msg); err != nil {
				t.Fatal(err)
			}
			h := hits()
			if len(h) != 1 || h[0].path != tc.path || !strings.HasPrefix(h[0].ctype, "application/json") {
				t.Fatalf("hits %+v", h)
			}
			if tc.kind == "dingtalk" && h[0].query != "access_token=tok123" {
				t.Errorf("query %q", h[0].query)
			}
			sameJSON(t, h[0].body, tc.want)
		})
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestDingTalkSignature(t *testing.T) {
	srv, hits := service(t, answer(200, `{"errcode":0,"errmsg":"ok"}`))
	secret := "SECb1f0c2ae4e3d"
	if err := testSender().Send(context.Background(), "dingtalk", cfg(t, Config{URL: srv.URL + "/robot/send?access_token=tok", Secret: secret}), msg); err != nil {
		t.Fatal(err)
	}
	h := hits()[0]
	q, _ := parseQuery(h.query)
	ts := "1772366400000" // fixed in Unix milliseconds
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if q["access_token"] != "tok" || q["timestamp"] != ts || q["sign"] != want {
		t.Errorf("query %q: want timestamp %s sign %s", h.query, ts, want)
	}
	if gotTS, gotSign := DingTalkSign(secret, fixed); gotTS != ts || gotSign != want {
		t.Errorf("DingTalkSign = %s %s", gotTS, gotSign)
	}
}

func parseQuery(q string) (map[string]string, error) {
	out := map[string]string{}
	for kv := range strings.SplitSeq(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		out[k] = uv
	}
	return out, nil
}

func TestFeishuSignature(t *testing.T) {
	srv, hits := service(t, answer(200, `{"code":0,"msg":"success"}`))
	secret := "feishu-secret"
	if err := testSender().Send(context.Background(), "feishu", cfg(t, Config{URL: srv.URL + "/open-apis/bot/v2/hook/abc", Secret: secret}), msg); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
		MsgType   string `json:"msg_type"`
	}
	if err := json.Unmarshal(hits()[0].body, &body); err != nil {
		t.Fatal(err)
	}
	ts := "1772366400"
	mac := hmac.New(sha256.New, []byte(ts+"\n"+secret)) // keyed with the string to sign, of nothing
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if body.Timestamp != ts || body.Sign != want || body.MsgType != "text" {
		t.Errorf("got %+v, want timestamp %s sign %s", body, ts, want)
	}
}

func TestWebhookSignature(t *testing.T) {
	srv, hits := service(t, answer(204, ""))
	if err := testSender().Send(context.Background(), "webhook", cfg(t, Config{URL: srv.URL, Secret: "k"}), msg); err != nil {
		t.Fatal(err)
	}
	h := hits()[0]
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write(h.body)
	if h.sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q", h.sig)
	}
}

func TestRetriesAndRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("5xx then ok", func(t *testing.T) {
		srv, hits := service(t, answer(503, "busy"), answer(429, "slow down"), answer(200, "ok"))
		if err := testSender().Send(ctx, "slack", cfg(t, Config{URL: srv.URL + "/services/x"}), msg); err != nil {
			t.Fatal(err)
		}
		if n := len(hits()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
	})
	t.Run("always 500", func(t *testing.T) {
		srv, hits := service(t, answer(500, "down"))
		err := testSender().Send(ctx, "slack", cfg(t, Config{URL: srv.URL + "/services/T/B/SECRETPATH"}), msg)
		if err == nil || len(hits()) != 3 {
			t.Fatalf("err %v after %d attempts", err, len(hits()))
		}
		if strings.Contains(err.Error(), "SECRETPATH") {
			t.Errorf("error quotes the URL: %v", err)
		}
	})
	t.Run("4xx is not retried", func(t *testing.T) {
		srv, hits := service(t, answer(404, "no_service"))
		err := testSender().Send(ctx, "slack", cfg(t, Config{URL: srv.URL + "/services/x"}), msg)
		if err == nil || len(hits()) != 1 || !strings.Contains(err.Error(), "no_service") {
			t.Errorf("err %v after %d attempts", err, len(hits()))
		}
	})
	t.Run("service error code", func(t *testing.T) {
		srv, hits := service(t, answer(200, `{"errcode":310000,"errmsg":"sign not match"}`))
		err := testSender().Send(ctx, "dingtalk", cfg(t, Config{URL: srv.URL + "/robot/send?access_token=TOKEN42", Secret: "SECRET42"}), msg)
		if err == nil || len(hits()) != 1 || !strings.Contains(err.Error(), "310000") {
			t.Errorf("err %v after %d attempts", err, len(hits()))
		}
		if strings.Contains(err.Error(), "TOKEN42") || strings.Contains(err.Error(), "SECRET42") {
			t.Errorf("error leaks a secret: %v", err)
		}
	})
	t.Run("feishu error code", func(t *testing.T) {
		srv, _ := service(t, answer(200, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`))
		if err := testSender().Send(ctx, "feishu", cfg(t, Config{URL: srv.URL + "/x"}), msg); err == nil || !strings.Contains(err.Error(), "19021") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("no redirects", func(t *testing.T) {
		srv, hits := service(t, func(w http.ResponseWriter) {
			w.Header().Set("Location", "http://192.0.2.1/elsewhere")
			w.WriteHeader(http.StatusFound)
		})
		err := testSender().Send(ctx, "webhook", cfg(t, Config{URL: srv.URL}), msg)
		if err == nil || len(hits()) != 1 {
			t.Errorf("err %v after %d requests", err, len(hits()))
		}
	})
	t.Run("connection refused, token withheld", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL
		srv.Close()
		err := testSender().Send(ctx, "wecom", cfg(t, Config{URL: u + "/cgi-bin/webhook/send?key=WECOMKEY"}), msg)
		if err == nil || strings.Contains(err.Error(), "WECOMKEY") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		s := NewSender(&Options{Timeout: 50 * time.Millisecond, Attempts: 2, Backoff: time.Millisecond})
		start := time.Now()
		err := s.Send(ctx, "slack", cfg(t, Config{URL: srv.URL + "/x"}), msg)
		if err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("err %v after %v", err, time.Since(start))
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		srv, _ := service(t, answer(500, "down"))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := testSender().Send(cctx, "slack", cfg(t, Config{URL: srv.URL + "/x"}), msg)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	})
}

func TestParseConfig(t *testing.T) {
	good := map[string]string{
		"webhook":  `{"url":"https://example.com/hook","secret":"s"}`,
		"slack":    `{"url":"https://hooks.slack.com/services/T/B/x"}`,
		"dingtalk": `{"url":"https://oapi.dingtalk.com/robot/send?access_token=x","secret":"SEC"}`,
		"feishu":   `{"url":"https://open.feishu.cn/open-apis/bot/v2/hook/x"}`,
		"wecom":    `{"url":"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x"}`,
		"email":    `{"host":"smtp.example.com","from":"vigil@example.com","to":["sec@example.com"],"username":"u","password":"p"}`,
	}
	for kind, raw := range good {
		if _, err := ParseConfig(kind, []byte(raw)); err != nil {
			t.Errorf("%s %s: %v", kind, raw, err)
		}
	}
	if c, _ := ParseConfig("email", []byte(good["email"])); c.Port != 587 {
		t.Errorf("default port %d", c.Port)
	}
	bad := map[string][2]string{
		"unknown kind":       {"pager", `{"url":"https://x"}`},
		"unknown field":      {"slack", `{"url":"https://x","token":"y"}`},
		"no url":             {"slack", `{}`},
		"ftp url":            {"webhook", `{"url":"ftp://x/y"}`},
		"credentials in url": {"webhook", `{"url":"https://u:p@x/y"}`},
		"secret on slack":    {"slack", `{"url":"https://x","secret":"s"}`},
		"smtp on webhook":    {"webhook", `{"url":"https://x","host":"h"}`},
		"newline in url":     {"webhook", `{"url":"https://x/\n"}`},
		"email no to":        {"email", `{"host":"h","from":"a@b.c"}`},
		"header injection":   {"email", `{"host":"h","from":"a@b.c\r\nBcc: x@y.z","to":["c@d.e"]}`},
		"display name":       {"email", `{"host":"h","from":"A <a@b.c>","to":["c@d.e"]}`},
		"user without pass":  {"email", `{"host":"h","from":"a@b.c","to":["c@d.e"],"username":"u"}`},
		"bad tls":            {"email", `{"host":"h","from":"a@b.c","to":["c@d.e"],"tls":"maybe"}`},
		"bad port":           {"email", `{"host":"h","port":70000,"from":"a@b.c","to":["c@d.e"]}`},
		"host with port":     {"email", `{"host":"h:25","from":"a@b.c","to":["c@d.e"]}`},
		"two values":         {"slack", `{"url":"https://x"} {}`},
		"array":              {"slack", `["https://x"]`},
	}
	for name, kr := range bad {
		_, err := ParseConfig(kr[0], []byte(kr[1]))
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "a@b.c\r\n") {
			t.Errorf("%s: error quotes the value", name)
		}
	}
	if d := Describe("dingtalk", []byte(good["dingtalk"])); d != "https://oapi.dingtalk.com (signed)" {
		t.Errorf("Describe = %q", d)
	}
	if d := Describe("email", []byte(good["email"])); d != "smtp.example.com:587 → sec@example.com" {
		t.Errorf("Describe = %q", d)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("webhook", `{"url":"https://example.com/hook","secret":"s"}`)
	f.Add("email", `{"host":"smtp.example.com","port":25,"from":"a@b.c","to":["c@d.e"],"tls":"implicit"}`)
	f.Add("dingtalk", `{"url":"https://oapi.dingtalk.com/robot/send?access_token=x"}`)
	f.Add("slack", `{"url":`)
	f.Fuzz(func(t *testing.T, kind, raw string) {
		c, err := ParseConfig(kind, []byte(raw))
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		// A valid configuration re-encodes into one that is valid and equal.
		b, _ := json.Marshal(c)
		c2, err := ParseConfig(kind, b)
		if err != nil {
			t.Fatalf("re-encoded %s: %v", b, err)
		}
		if b2, _ := json.Marshal(c2); string(b2) != string(b) {
			t.Fatalf("not stable: %s vs %s", b, b2)
		}
		// Nothing of an email configuration can break a header line.
		if kind == "email" {
			body := string(emailBody(c, Message{Title: raw, Text: raw, Time: fixed}))
			head, _, _ := strings.Cut(body, "\r\n\r\n")
			for line := range strings.SplitSeq(head, "\r\n") {
				if !strings.Contains(line, ": ") || strings.ContainsAny(line, "\r\n") {
					t.Fatalf("bad header line %q", line)
				}
			}
		}
		_ = Describe(kind, []byte(raw))
	})
}
