package notify

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a minimal SMTP server on loopback: EHLO, optional
// STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT. It records each session.
type smtpServer struct {
	t        *testing.T
	ln       net.Listener
	tls      *tls.Config // offers STARTTLS when set
	user     string      // AUTH PLAIN credentials it accepts
	pass     string
	rcptCode int // answers RCPT TO with this code when set

	mu       sync.Mutex
	sessions []smtpSession
}

type smtpSession struct {
	tls      bool
	auth     string // the decoded PLAIN response
	from     string
	to       []string
	data     string
	commands []string
}

func newSMTPServer(t *testing.T, starttls bool) (*smtpServer, *x509.CertPool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{t: t, ln: ln, user: "vigil", pass: "p4ss"}
	var pool *x509.CertPool
	if starttls {
		// httptest's certificate is valid for 127.0.0.1.
		ts := httptest.NewUnstartedServer(nil)
		ts.StartTLS()
		s.tls = &tls.Config{Certificates: ts.TLS.Certificates}
		pool = x509.NewCertPool()
		pool.AddCert(ts.Certificate())
		ts.Close()
	}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s, pool
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpServer) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var sess smtpSession
	defer func() { s.mu.Lock(); s.sessions = append(s.sessions, sess); s.mu.Unlock() }()
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		sess.commands = append(sess.commands, strings.SplitN(line, " ", 2)[0])
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-test", "250-AUTH PLAIN"}
			if s.tls != nil && !sess.tls {
				ext = append(ext, "250-STARTTLS")
			}
			ext = append(ext, "250 8BITMIME")
			for _, e := range ext {
				tp.PrintfLine("%s", e)
			}
		case "STARTTLS":
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			tp = textproto.NewConn(c)
			sess.tls = true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(resp)
			sess.auth = string(b)
			if mech == "PLAIN" && string(b) == "\x00"+s.user+"\x00"+s.pass {
				tp.PrintfLine("235 ok")
			} else {
				tp.PrintfLine("535 bad credentials")
			}
		case "MAIL":
			sess.from = strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<>")
			sess.from, _, _ = strings.Cut(sess.from, ">")
			tp.PrintfLine("250 ok")
		case "RCPT":
			if s.rcptCode != 0 {
				tp.PrintfLine("%d no", s.rcptCode)
				continue
			}
			sess.to = append(sess.to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go")
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			sess.data = string(b)
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 unknown")
		}
	}
}

func (s *smtpServer) got() []smtpSession {
	time.Sleep(20 * time.Millisecond) // the session records after QUIT
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpSession(nil), s.sessions...)
}

func TestEmail(t *testing.T) {
	m := Message{Event: EventSilent, Severity: "high", Title: "Agent silent: web-1\r\nBcc: evil@example.com",
		Text: "The agent a1 on web-1 has not reported since 2026-03-01T11:58:00Z.\n.\nnon-ASCII: 主机", Time: fixed}
	for _, tc := range []struct {
		name     string
		starttls bool
		mode     string
	}{
		{"plain loopback", false, ""},
		{"starttls", true, ""},
		{"starttls required", true, TLSRequire},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, pool := newSMTPServer(t, tc.starttls)
			s := NewSender(&Options{Timeout: 5 * time.Second, Attempts: 1, TLS: &tls.Config{RootCAs: pool}})
			c := Config{Host: "127.0.0.1", Port: srv.port(), Username: "vigil", Password: "p4ss", TLS: tc.mode,
				From: "vigil@example.com", To: []string{"sec@example.com", "ops@example.com"}}
			if err := s.Send(context.Background(), "email", cfg(t, c), m); err != nil {
				t.Fatal(err)
			}
			got := srv.got()
			if len(got) != 1 {
				t.Fatalf("%d sessions", len(got))
			}
			g := got[0]
			if g.tls != tc.starttls || g.auth != "\x00vigil\x00p4ss" || g.from != "vigil@example.com" ||
				strings.Join(g.to, ",") != "sec@example.com,ops@example.com" {
				t.Errorf("session %+v", g)
			}
			// The server's DotReader turned CRLF into LF.
			head, body, ok := strings.Cut(g.data, "\n\n")
			if !ok {
				t.Fatalf("no header/body split: %q", g.data)
			}
			hdr, err := textproto.NewReader(bufio.NewReader(strings.NewReader(head + "\n\n"))).ReadMIMEHeader()
			if err != nil {
				t.Fatal(err)
			}
			subj, err := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
			if err != nil || subj != "[Vigil] Agent silent: web-1  Bcc: evil@example.com" {
				t.Errorf("subject %q (%v)", subj, err)
			}
			if hdr.Get("Bcc") != "" || hdr.Get("To") != "sec@example.com, ops@example.com" || hdr.Get("From") != "vigil@example.com" {
				t.Errorf("headers %v", hdr)
			}
			if hdr.Get("Content-Type") != "text/plain; charset=utf-8" || hdr.Get("Date") != "Sun, 01 Mar 2026 12:00:00 +0000" {
				t.Errorf("headers %v", hdr)
			}
			text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
			if err != nil {
				t.Fatal(err)
			}
			want := "Agent silent: web-1  Bcc: evil@example.com\n\n" + m.Text + "\n"
			if string(text) != want {
				t.Errorf("body\n got %q\nwant %q", text, want)
			}
		})
	}
	t.Run("starttls required but not offered", func(t *testing.T) {
		srv, _ := newSMTPServer(t, false)
		c := Config{Host: "127.0.0.1", Port: srv.port(), TLS: TLSRequire, From: "v@example.com", To: []string{"s@example.com"}}
		err := testSender().Send(context.Background(), "email", cfg(t, c), m)
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") || len(srv.got()) != 1 {
			t.Errorf("err %v", err)
		}
	})
	t.Run("bad password is not retried and not shown", func(t *testing.T) {
		srv, _ := newSMTPServer(t, false)
		c := Config{Host: "127.0.0.1", Port: srv.port(), Username: "vigil", Password: "WRONGPASS", From: "v@example.com", To: []string{"s@example.com"}}
		err := testSender().Send(context.Background(), "email", cfg(t, c), m)
		if err == nil || strings.Contains(err.Error(), "WRONGPASS") || len(srv.got()) != 1 {
			t.Errorf("err %v after %d sessions", err, len(srv.got()))
		}
	})
	t.Run("transient refusal is retried", func(t *testing.T) {
		srv, _ := newSMTPServer(t, false)
		srv.rcptCode = 451
		c := Config{Host: "127.0.0.1", Port: srv.port(), From: "v@example.com", To: []string{"s@example.com"}}
		if err := testSender().Send(context.Background(), "email", cfg(t, c), m); err == nil || len(srv.got()) != 3 {
			t.Errorf("err %v after %d sessions", err, len(srv.got()))
		}
	})
	t.Run("implicit TLS to a plain server fails in time", func(t *testing.T) {
		srv, _ := newSMTPServer(t, false)
		c := Config{Host: "127.0.0.1", Port: srv.port(), TLS: TLSImplicit, From: "v@example.com", To: []string{"s@example.com"}}
		s := NewSender(&Options{Timeout: time.Second, Attempts: 1})
		if err := s.Send(context.Background(), "email", cfg(t, c), m); err == nil {
			t.Error("no error")
		}
	})
}
