package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
)

// ErrConfig is the error of a channel configuration that is not valid.
var ErrConfig = errors.New("notify: invalid channel configuration")

// Bounds of a configuration.
const (
	maxConfig    = 16 << 10
	maxURL       = 2048
	maxSecret    = 256
	maxRecipient = 50
	maxField     = 254
)

// TLS modes of an email channel.
const (
	TLSStartTLS = ""         // STARTTLS when the server offers it (the default)
	TLSRequire  = "starttls" // STARTTLS or fail
	TLSImplicit = "implicit" // TLS from the first byte (SMTPS, port 465)
)

// Config is a channel's settings, as stored (JSON). Which fields apply
// depends on the kind:
//
//   - webhook: URL, optional Secret (an X-Vigil-Signature HMAC of the body);
//   - slack, wecom: URL;
//   - dingtalk, feishu: URL, optional Secret (the robot's signing secret);
//   - email: Host, Port, optional Username and Password (PLAIN), From, To,
//     TLS.
type Config struct {
	URL      string   `json:"url,omitempty"`
	Secret   string   `json:"secret,omitempty"`
	Host     string   `json:"host,omitempty"`
	Port     int      `json:"port,omitempty"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	TLS      string   `json:"tls,omitempty"`
}

// ParseConfig reads a channel's configuration strictly (no unknown
// fields, at most 16 KiB) and checks it for the kind. The error is
// ErrConfig and names the field, never its value.
func ParseConfig(kind string, raw []byte) (Config, error) {
	var c Config
	if len(raw) > maxConfig {
		return c, fmt.Errorf("%w: over %d bytes", ErrConfig, maxConfig)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: not a JSON object of known fields", ErrConfig)
	}
	if dec.More() {
		return Config{}, fmt.Errorf("%w: data after the JSON object", ErrConfig)
	}
	return c, c.check(kind)
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

func (c *Config) check(kind string) error {
	if !slices.Contains(store.ChannelKinds, kind) {
		return configErr("unknown kind %q", kind)
	}
	if kind == store.ChannelEmail {
		return c.checkEmail()
	}
	if c.Host != "" || c.Port != 0 || c.Username != "" || c.Password != "" || c.From != "" || len(c.To) > 0 || c.TLS != "" {
		return configErr("%s channels take url and secret only", kind)
	}
	if c.URL == "" {
		return configErr("url is required")
	}
	if len(c.URL) > maxURL || !printable(c.URL) {
		return configErr("url must be at most %d printable bytes", maxURL)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return configErr("url must be an http or https URL without credentials or fragment")
	}
	if c.Secret != "" {
		if kind != store.ChannelWebhook && kind != store.ChannelDingTalk && kind != store.ChannelFeishu {
			return configErr("%s channels take no secret", kind)
		}
		if len(c.Secret) > maxSecret || !printable(c.Secret) {
			return configErr("secret must be at most %d printable bytes", maxSecret)
		}
	}
	return nil
}

func (c *Config) checkEmail() error {
	if c.URL != "" || c.Secret != "" {
		return configErr("email channels take no url or secret")
	}
	if c.Host == "" || len(c.Host) > maxField || strings.ContainsAny(c.Host, " /:@\\") || !printable(c.Host) {
		return configErr("host must be a host name or address")
	}
	switch c.TLS {
	case TLSStartTLS, TLSRequire, TLSImplicit:
	default:
		return configErr("tls must be empty (STARTTLS when offered), %q or %q", TLSRequire, TLSImplicit)
	}
	if c.Port == 0 {
		c.Port = 587
		if c.TLS == TLSImplicit {
			c.Port = 465
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		return configErr("port must be 1-65535")
	}
	if len(c.Username) > maxField || !printable(c.Username) || len(c.Password) > maxSecret || !printable(c.Password) {
		return configErr("username and password must be printable, at most %d and %d bytes", maxField, maxSecret)
	}
	if (c.Username == "") != (c.Password == "") {
		return configErr("give both username and password, or neither")
	}
	if err := checkAddress(c.From); err != nil {
		return configErr("from: %v", err)
	}
	if len(c.To) == 0 || len(c.To) > maxRecipient {
		return configErr("to must list 1-%d addresses", maxRecipient)
	}
	for i, a := range c.To {
		if err := checkAddress(a); err != nil {
			return configErr("to[%d]: %v", i, err)
		}
	}
	return nil
}

// checkAddress accepts a bare address "user@host" (no display name, no
// line breaks: addresses go into SMTP commands and headers).
func checkAddress(a string) error {
	if a == "" || len(a) > maxField || !printable(a) || strings.ContainsAny(a, "<>\" ,;") {
		return errors.New("want a bare address such as alerts@example.com")
	}
	p, err := mail.ParseAddress(a)
	if err != nil || p.Address != a || p.Name != "" {
		return errors.New("want a bare address such as alerts@example.com")
	}
	return nil
}

// printable says whether s is free of control characters.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// Describe says where a channel sends, without its secrets: the URL's
// host (webhook URLs carry tokens in their path and query) or the SMTP
// server and recipients, and whether messages are signed.
func Describe(kind string, raw []byte) string {
	c, err := ParseConfig(kind, raw)
	if err != nil {
		return "(invalid configuration)"
	}
	if kind == store.ChannelEmail {
		return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + " → " + strings.Join(c.To, ", ")
	}
	d := "(invalid URL)"
	if u, err := url.Parse(c.URL); err == nil {
		d = u.Scheme + "://" + u.Host
	}
	if c.Secret != "" {
		d += " (signed)"
	}
	return d
}
