package console

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/*.html static/*
var files embed.FS

// Options configure New. API is required.
type Options struct {
	// API is the REST API's handler; the console calls it in-process.
	API http.Handler
	// Logger; nil discards.
	Logger *slog.Logger
	// Version is shown in the footer.
	Version string
	// Now is the clock (default expiry dates); nil means time.Now.
	Now func() time.Time
}

// Console is the web console's http.Handler.
type Console struct {
	api      client
	log      *slog.Logger
	version  string
	now      func() time.Time
	base     *template.Template
	pages    map[string]*template.Template
	csrfKey  []byte
	mux      *http.ServeMux
	assetVer string
	cop      *http.CrossOriginProtection
}

var _ http.Handler = (*Console)(nil)

// New builds the console. It panics on a nil API or templates that do not
// parse: programming errors a test catches.
func New(o Options) *Console {
	if o.API == nil {
		panic("console.New: nil API")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	c := &Console{
		api:     client{h: o.API},
		log:     o.Logger.With("component", "console"),
		version: o.Version,
		now:     o.Now,
		csrfKey: key,
		mux:     http.NewServeMux(),
		cop:     http.NewCrossOriginProtection(),
	}
	c.parseTemplates()
	c.assetVer = assetVersion()
	c.routes()
	return c
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	// Every state change is a POST; refuse cross-site ones before
	// anything else (the CSRF token is checked again per handler).
	if err := c.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := c.mux
	static, _ := fs.Sub(files, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheForever(http.FileServerFS(static))))
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.loginPost)
	m.HandleFunc("POST /language", c.languagePost)
	m.Handle("POST /logout", c.action(c.logoutPost))

	m.Handle("GET /{$}", c.page(c.overviewPage))
	m.Handle("GET /assets", c.page(c.assetsPage))
	m.Handle("GET /assets/{id}", c.page(c.assetPage))
	m.Handle("GET /vulnerabilities", c.page(c.vulnsPage))
	m.Handle("GET /vulnerabilities/{id}", c.page(c.vulnPage))
	m.Handle("GET /findings", c.page(c.findingsPage))
	m.Handle("POST /findings/accept", c.action(c.acceptPost))
	m.Handle("GET /findings/{id}", c.page(c.findingPage))
	m.Handle("POST /findings/{id}/comments", c.action(c.commentPost))
	m.Handle("POST /findings/{id}/status", c.action(c.statusPost))
	m.Handle("GET /events", c.page(c.eventsPage))
	m.Handle("GET /agents", c.page(c.agentsPage))
	m.Handle("POST /agents/{id}/rescan", c.action(c.rescanPost))
	m.Handle("POST /agents/{id}/revoke", c.action(c.agentRevokePost))
	m.Handle("POST /enrollment-tokens", c.action(c.enrollCreatePost))
	m.Handle("POST /enrollment-tokens/{id}/revoke", c.action(c.enrollRevokePost))
	m.Handle("GET /settings", c.page(c.settingsIndex))
	m.Handle("GET /settings/users", c.page(c.usersPage))
	m.Handle("POST /settings/users", c.action(c.userCreatePost))
	m.Handle("POST /settings/users/{id}", c.action(c.userUpdatePost))
	m.Handle("GET /settings/tokens", c.page(c.tokensPage))
	m.Handle("POST /settings/tokens", c.action(c.tokenCreatePost))
	m.Handle("POST /settings/tokens/{id}/revoke", c.action(c.tokenRevokePost))
	m.Handle("GET /settings/audit", c.page(c.auditPage))
	m.Handle("GET /settings/notifications", c.page(c.notificationsPage))
	m.Handle("POST /settings/notifications", c.action(c.channelCreatePost))
	m.Handle("POST /settings/notifications/{id}/delete", c.action(c.channelDeletePost))
	m.Handle("POST /settings/notifications/{id}/test", c.action(c.channelTestPost))
	m.Handle("/", c.page(func(w http.ResponseWriter, r *http.Request, s *session) error {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "no such page"}
	}))
}

// cacheForever lets browsers keep static files: their URLs carry the
// content hash (?v=).
func cacheForever(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		h.ServeHTTP(w, r)
	})
}

// assetVersion hashes the static files for cache-busting URLs.
func assetVersion() string {
	h := sha256.New()
	fs.WalkDir(files, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// pageFunc renders one page for a signed-in user.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// page serves a GET page to a signed-in user; anyone else is sent to the
// login page.
func (c *Console) page(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(w, r)
		if err != nil {
			c.signInAgain(w, r, err)
			return
		}
		if err := f(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// action serves a form POST of a signed-in user: the CSRF token must be
// the session's.
func (c *Console) action(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		s, err := c.session(w, r)
		if err != nil {
			c.signInAgain(w, r, err)
			return
		}
		if !c.csrfOK(s.token, r.PostForm.Get("csrf")) {
			c.fail(w, r, s, errCSRF)
			return
		}
		if err := f(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// maxForm bounds a form body.
const maxForm = 256 << 10

// errCSRF answers a POST without the session's CSRF token.
var errCSRF = &apiError{Status: http.StatusForbidden, Code: "csrf", Message: "the form has expired or did not come from this console"}

// signInAgain sends a user without a valid session to the login page
// (GET), or refuses the POST.
func (c *Console) signInAgain(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		c.log.ErrorContext(r.Context(), "session check", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	clearCookie(w, r, sessionCookie)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	next := r.URL.RequestURI()
	target := "/login"
	if next != "/" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
