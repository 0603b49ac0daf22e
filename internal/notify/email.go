package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// sendEmail delivers m by SMTP: STARTTLS when the server offers it (or
// always, or TLS from the start, as c.TLS says), PLAIN authentication
// when a username is set (net/smtp refuses it over an unencrypted
// connection except to localhost), one message to every recipient.
func (s *Sender) sendEmail(ctx context.Context, c Config, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.o.TLS != nil {
		tc = s.o.TLS.Clone()
	}
	tc.ServerName = c.Host
	if c.TLS == TLSImplicit {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtp %s: TLS: %w", addr, err)
		}
		conn = tconn
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return smtpErr(addr, "greeting", err)
	}
	defer cl.Close()
	if err := cl.Hello("vigil.localdomain"); err != nil {
		return smtpErr(addr, "EHLO", err)
	}
	if c.TLS != TLSImplicit {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(tc); err != nil {
				return smtpErr(addr, "STARTTLS", err)
			}
		} else if c.TLS == TLSRequire {
			return &serviceError{msg: fmt.Sprintf("smtp %s: the server does not offer STARTTLS", addr)}
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return smtpErr(addr, "AUTH", err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return smtpErr(addr, "MAIL FROM", err)
	}
	for _, to := range c.To {
		if err := cl.Rcpt(to); err != nil {
			return smtpErr(addr, "RCPT TO", err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return smtpErr(addr, "DATA", err)
	}
	if _, err := w.Write(emailBody(c, m)); err != nil {
		return smtpErr(addr, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(addr, "DATA", err)
	}
	if err := cl.Quit(); err != nil {
		return smtpErr(addr, "QUIT", err)
	}
	return nil
}

// smtpErr wraps an SMTP failure; a permanent refusal (5xx) or an
// authentication the client refused is not retried.
func smtpErr(addr, step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &serviceError{msg: fmt.Sprintf("smtp %s: %s: %d %s", addr, step, te.Code, oneLine(te.Msg))}
	}
	if step == "AUTH" && !errors.As(err, &te) {
		return &serviceError{msg: fmt.Sprintf("smtp %s: %s: %v", addr, step, err)}
	}
	return fmt.Errorf("smtp %s: %s: %w", addr, step, err)
}

// emailBody is the message: headers (the subject is the title, encoded;
// nothing from the message can add a header) and a quoted-printable
// UTF-8 text body, with CRLF line ends.
func emailBody(c Config, m Message) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	rand.Read(id)
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", c.From)
	h("To", strings.Join(c.To, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", "[Vigil] "+oneLine(m.Title)))
	h("Date", m.Time.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@vigil.localdomain>")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(oneLine(m.Title)+"\n\n"+m.Text+"\n", "\r\n", "\n")
	qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}
